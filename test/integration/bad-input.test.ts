/** Hand-picked bad and awkward input on the real broker: dead-lettered with reasons, nothing stalls. */
import { AssignerProtocol } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertRecord, DeadLetter, FreezeCommand } from '../../src/actions/records.js';
import { deadLetter } from '../../src/actions/records.js';
import { auditTopics } from '../../src/audit/audit.js';
import type { Monitor } from '../../src/monitor.js';
import type { TestEnv } from '../support/harness.js';
import { createTestEnv, kafka, readTopic, waitFor, waitUntilConsumed } from '../support/harness.js';

let env: TestEnv;
afterEach(async () => env?.cleanup());

const T = (s: number) => new Date(Date.parse('2026-11-21T10:00:00Z') + s * 1000).toISOString();
const json = (v: unknown) => JSON.stringify(v);

describe('bad and awkward input', () => {
  it('dead-letters each bad record with its reason, and judges duplicates, reordering and odd keys correctly', async () => {
    env = await createTestEnv();
    const m = env.config.topics.membership;
    const created = {
      type: 'chat.created',
      eventId: 'dup-1',
      occurredAt: T(1),
      chatId: 'dup-chat',
      createdBy: 'p',
      members: ['p', 'q'],
    };
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: m,
      messages: [
        {
          key: 'huge',
          value: json({
            type: 'chat.created',
            eventId: 'h1',
            occurredAt: T(1),
            chatId: 'huge',
            createdBy: 'u0',
            members: Array.from({ length: 2000 }, (_, i) => `u${i}`),
          }),
        },
        {
          key: 'big',
          value: json({
            type: 'member.added',
            eventId: 'b1',
            occurredAt: T(1),
            chatId: 'big',
            userId: 'x',
            pad: 'y'.repeat(300 * 1024),
          }),
        },
        {
          key: 'long-id',
          value: json({ type: 'member.added', eventId: 'l1', occurredAt: T(1), chatId: 'c'.repeat(1000), userId: 'x' }),
        },
        { key: 'tombstone', value: null },
        { key: 'nulls', value: json({ type: null, eventId: null }) },
        {
          key: 'nulls',
          value: json({ type: 'member.added', eventId: 'n1', occurredAt: T(1), chatId: 'c', userId: null }),
        },
        // The same event twice: one alert.
        { key: 'dup-chat', value: json(created) },
        { key: 'dup-chat', value: json(created) },
        // __proto__ and constructor keys beside valid fields: judged like any event.
        {
          key: 'proto-chat',
          value: `{"type":"chat.created","eventId":"p1","occurredAt":"${T(1)}","chatId":"proto-chat","createdBy":"r","members":["r","s"],"__proto__":{"isAdmin":true},"constructor":{"prototype":{}}}`,
        },
        // Out of order: the removal (t=10) arrives before the join (t=5). The pair was together
        // from 5 to 10: an episode, alerted and frozen as it would be in any order of reading
        // (contract §6: the alerts and freezes of a history do not depend on consumption order).
        {
          key: 'late-chat',
          value: json({
            type: 'chat.created',
            eventId: 'o0',
            occurredAt: T(1),
            chatId: 'late-chat',
            createdBy: 'v',
            members: ['v'],
          }),
        },
        {
          key: 'late-chat',
          value: json({ type: 'member.removed', eventId: 'o2', occurredAt: T(10), chatId: 'late-chat', userId: 'w' }),
        },
        {
          key: 'late-chat',
          value: json({ type: 'member.added', eventId: 'o1', occurredAt: T(5), chatId: 'late-chat', userId: 'w' }),
        },
      ],
      acks: -1,
    });
    const monitor = await env.startMonitor();
    await waitUntilConsumed(env);
    // Still alive and judging after all that.
    await producer.send({
      topic: m,
      messages: [
        {
          key: 'after',
          value: json({
            type: 'chat.created',
            eventId: 'a1',
            occurredAt: T(20),
            chatId: 'after',
            createdBy: 'y',
            members: ['y', 'z'],
          }),
        },
      ],
      acks: -1,
    });
    await producer.disconnect();
    await waitUntilConsumed(env);

    const dead = await readTopic<DeadLetter>(env.admin, env.config.topics.deadLetter);
    expect(dead.map((d) => [d.key, d.value.error.split(':')[0]]).sort()).toEqual([
      ['big', 'too-large'],
      ['huge', 'too-many-members'],
      ['long-id', 'invalid-fields'],
      ['nulls', 'invalid-fields'],
      ['nulls', 'unknown-type'],
      ['tombstone', 'empty-value'],
    ]);
    const alerts = await readTopic<AlertRecord>(env.admin, env.config.topics.alerts);
    expect(alerts.map((a) => [a.value.chatId, a.value.pair, a.value.action]).sort()).toEqual([
      ['after', ['y', 'z'], 'frozen'],
      ['dup-chat', ['p', 'q'], 'frozen'],
      ['late-chat', ['v', 'w'], 'frozen'],
      ['proto-chat', ['r', 's'], 'frozen'],
    ]);
    const freezes = (await readTopic<FreezeCommand>(env.admin, env.config.topics.control)).filter(
      (r) => r.value.type === 'chat.freeze',
    );
    expect(freezes.map((f) => f.value.chatId).sort()).toEqual(['after', 'dup-chat', 'late-chat', 'proto-chat']);
    const metrics = await (await fetch(`http://127.0.0.1:${monitor.httpPort}/metrics`)).text();
    const deadLetters = [...metrics.matchAll(/^pairguard_dead_letters_total\{[^}]*\} (\d+)$/gm)].reduce(
      (n, m) => n + Number(m[1]),
      0,
    );
    expect(deadLetters).toBe(6);
  });

  it("survives issue 15's attack with two instances: a message.sent-shaped record with text and 100,000 nested arrays is dead-lettered without its text, no consumer restarts, and a stranger is frozen afterwards", async () => {
    env = await createTestEnv();
    const { approvals, membership, messages } = env.config.topics;
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: approvals,
      acks: -1,
      messages: [
        {
          key: 'ann',
          value: json({ type: 'contact.approved', eventId: 'x1', occurredAt: T(0), childId: 'ann', contactId: 'ben' }),
        },
        {
          key: 'ben',
          value: json({ type: 'contact.approved', eventId: 'x2', occurredAt: T(0), childId: 'ben', contactId: 'ann' }),
        },
      ],
    });
    await producer.send({
      topic: membership,
      acks: -1,
      messages: [
        {
          key: 'chat-g',
          value: json({
            type: 'chat.created',
            eventId: 'x3',
            occurredAt: T(1),
            chatId: 'chat-g',
            createdBy: 'ann',
            members: ['ann', 'ben'],
          }),
        },
      ],
    });
    const monitors = [await env.startMonitor(), await env.startMonitor()];
    await bothOwnMessagePartitions(env);

    // The exact record: message.sent-shaped, under the size limit, text and a depth bomb; one on
    // every partition, so each instance reads at least one.
    const SECRET = 'zz-child-words-zz meet me at the park';
    const depth = 100_000;
    const hostile = `{"type":"message.sent","chatId":"chat-g","senderId":"ann","text":"${SECRET}","x":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    expect(Buffer.byteLength(hostile)).toBeLessThan(env.config.maxEventBytes);
    await producer.send({
      topic: messages,
      acks: -1,
      messages: [0, 1, 2].map((partition) => ({ partition, key: 'chat-g', value: hostile })),
    });
    await waitUntilConsumed(env);
    // Then a stranger writes into the chat.
    await producer.send({
      topic: messages,
      acks: -1,
      messages: [
        {
          key: 'chat-g',
          value: json({
            type: 'message.sent',
            eventId: 'x4',
            occurredAt: T(30),
            chatId: 'chat-g',
            messageId: 'm1',
            senderId: 'stranger',
            text: SECRET,
          }),
        },
      ],
    });
    await producer.disconnect();
    await waitUntilConsumed(env);

    const dead = await readTopic<DeadLetter>(env.admin, env.config.topics.deadLetter);
    expect(dead.map((d) => [d.value.partition, d.value.error.split(':')[0]]).sort()).toEqual([
      [0, 'invalid-fields'],
      [1, 'invalid-fields'],
      [2, 'invalid-fields'],
    ]);
    for (const d of dead) {
      expect(deadLetter.strict().parse(d.value)).toEqual(d.value);
      expect(JSON.parse(Buffer.from(d.value.value!, 'base64').toString())).toEqual({
        type: 'message.sent',
        chatId: 'chat-g',
        senderId: 'ann',
      });
      expect(d.value.valueBytes).toBe(Buffer.byteLength(hostile));
    }
    expect(JSON.stringify(dead)).not.toContain('zz-child-words-zz');
    const alerts = await readTopic<AlertRecord>(env.admin, env.config.topics.alerts);
    expect(alerts.map((a) => a.value.pair).sort()).toEqual([
      ['ann', 'stranger'],
      ['ben', 'stranger'],
    ]);
    const freezes = (await readTopic<FreezeCommand>(env.admin, env.config.topics.control)).filter(
      (r) => r.value.type === 'chat.freeze',
    );
    expect(freezes.map((f) => f.value.chatId)).toEqual(['chat-g']);
    // Nothing failed, nothing restarted, on either instance.
    expect(env.logs.text).not.toMatch(/batch failed|consumer crashed|consumer restarted/);
    for (const m of monitors) {
      const page = await metricsOf(m);
      expect(sum(page, 'pairguard_batch_failures_total')).toBe(0);
      expect(sum(page, 'pairguard_consumer_crashes_total')).toBe(0);
    }
    expect(env.logs.text).not.toContain('zz-child-words-zz');
  }, 120_000);

  it('writes a flood of dead letters larger than their records, more than one produce request of the broker allows, and goes on judging', async () => {
    env = await createTestEnv({ partitions: 1 });
    const { messages } = env.config.topics;
    // A key of 300 control bytes is 300 bytes in the record, and in the dead letter 300 again
    // (its Kafka key, as received) plus 1.5 KiB (the key field, 256 characters escaped as \u0001).
    // 500 of them judged together make 1.1 MiB for one partition of the dead-letter topic: over
    // Kafka's 1 MiB batch limit unless written in several requests.
    const key = Buffer.alloc(300, 0x01);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: messages,
      acks: -1,
      messages: Array.from({ length: 1200 }, (_, i) => ({
        key,
        value: json({ type: 'message.sent', eventId: `f${i}`, text: 'zz-secret-zz' }),
      })),
    });
    await env.startMonitor();
    await waitUntilConsumed(env);
    await producer.send({
      topic: messages,
      acks: -1,
      messages: [
        {
          key: 'after',
          value: json({
            type: 'message.sent',
            eventId: 'a1',
            occurredAt: T(5),
            chatId: 'after',
            messageId: 'm',
            senderId: 'nobody',
          }),
        },
      ],
    });
    await producer.disconnect();
    await waitUntilConsumed(env);
    const dead = await readTopic<DeadLetter>(env.admin, env.config.topics.deadLetter);
    expect(dead).toHaveLength(1200);
    expect(JSON.stringify(dead[0]!.value).length + 300).toBeGreaterThan(2_150);
    expect(JSON.stringify(dead)).not.toContain('zz-secret-zz');
    expect(env.logs.text).not.toMatch(/batch failed/);
  }, 120_000);

  it('judges an event dated year 9999 as of its record timestamp, counts it and logs it once per key', async () => {
    env = await createTestEnv();
    const { approvals, membership } = env.config.topics;
    const producer = kafka.producer();
    await producer.connect();
    const future = '9999-12-31T23:59:59.000Z';
    // Two children approve each other, in records stamped now whose occurredAt says 9999; a third
    // record of ann's is dated 9999 too (counted, not logged again); dan is registered in 2001.
    await producer.send({
      topic: approvals,
      acks: -1,
      messages: [
        {
          key: 'ann',
          value: json({
            type: 'contact.approved',
            eventId: 'f1',
            occurredAt: future,
            childId: 'ann',
            contactId: 'cal',
          }),
        },
        {
          key: 'cal',
          value: json({
            type: 'contact.approved',
            eventId: 'f2',
            occurredAt: future,
            childId: 'cal',
            contactId: 'ann',
          }),
        },
        {
          key: 'ann',
          value: json({
            type: 'contact.approved',
            eventId: 'f3',
            occurredAt: future,
            childId: 'ann',
            contactId: 'eve',
          }),
        },
        {
          key: 'dan',
          value: json({
            type: 'user.registered',
            eventId: 'f4',
            occurredAt: '2001-01-01T00:00:00Z',
            userId: 'dan',
            role: 'child',
          }),
        },
      ],
    });
    // Created after those records were written: judged as of their timestamps, the approvals
    // count (judged as of 9999, they would not, and the chat would be falsely frozen).
    await new Promise((r) => setTimeout(r, 20));
    const now = () => new Date().toISOString();
    await producer.send({
      topic: membership,
      acks: -1,
      messages: [
        {
          key: 'pair',
          value: json({
            type: 'chat.created',
            eventId: 'f5',
            occurredAt: now(),
            chatId: 'pair',
            createdBy: 'ann',
            members: ['ann', 'cal'],
          }),
        },
        {
          key: 'other',
          value: json({
            type: 'chat.created',
            eventId: 'f6',
            occurredAt: now(),
            chatId: 'other',
            createdBy: 'ann',
            members: ['ann', 'dan'],
          }),
        },
      ],
    });
    await producer.disconnect();
    const monitor = await env.startMonitor();
    await waitUntilConsumed(env);

    const alerts = await readTopic<AlertRecord>(env.admin, env.config.topics.alerts);
    expect(alerts.map((a) => [a.value.chatId, a.value.pair])).toEqual([['other', ['ann', 'dan']]]);
    const page = await metricsOf(monitor);
    expect(sum(page, 'pairguard_clock_skew_events_total', 'direction="future"', `topic="${approvals}"`)).toBe(3);
    expect(sum(page, 'pairguard_clock_skew_events_total', 'direction="past"', `topic="${approvals}"`)).toBe(1);
    expect(sum(page, 'pairguard_clock_skew_events_total', `topic="${membership}"`)).toBe(0);
    const logged = env.logs.lines().filter((l) => String(l.msg).includes('PAIRGUARD_MAX_CLOCK_SKEW'));
    expect(logged.map((l) => l.topic)).toEqual([approvals, approvals]);
    // The audit of the same topics bounds skew the same way, so it finds what the monitor found.
    const limits = {
      maxValueBytes: env.config.maxEventBytes,
      maxMembers: env.config.maxChatMembers,
      maxClockSkewMs: env.config.maxClockSkewSeconds * 1000,
    };
    const audit = await auditTopics({ kafka, topics: env.config.topics, limits });
    expect(audit.chats.map((c) => c.chatId)).toEqual(['other']);
  }, 120_000);
});

async function metricsOf(m: Monitor): Promise<string> {
  return (await fetch(`http://127.0.0.1:${m.httpPort}/metrics`)).text();
}

/** The sum of a metric's series whose labels include every one of `labels` (each as `name="value"`). */
function sum(page: string, name: string, ...labels: string[]): number {
  return [...page.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`, 'gm'))]
    .filter((m) => labels.every((l) => (m[1] ?? '').includes(l)))
    .reduce((n, m) => n + Number(m[2]), 0);
}

/** Both instances are in the messages group, each owning at least one of its partitions. */
async function bothOwnMessagePartitions(e: TestEnv): Promise<void> {
  await waitFor(
    'both instances to own messages partitions',
    async () => {
      const { groups } = await e.admin.describeGroups([`${e.config.groupId}.messages`]);
      const g = groups[0]!;
      if (g.state !== 'Stable' || g.members.length !== 2) return false;
      return g.members.every((m) =>
        Object.values(AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment ?? {}).some(
          (ps) => ps.length > 0,
        ),
      );
    },
    60_000,
  );
}
