/** The cross-topic ordering rule and at-least-once restarts, on the real broker and Redis. */
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertRecord, FreezeCommand } from '../../src/actions/records.js';
import type { TestEnv } from '../support/harness.js';
import { createTestEnv, kafka, readTopic, waitFor, waitUntilConsumed } from '../support/harness.js';

let env: TestEnv;
afterEach(async () => env?.cleanup());

const json = (v: unknown) => JSON.stringify(v);

describe('cross-topic ordering', () => {
  it('consumes a backlog of 5,000 approvals produced just before a member.added before judging it', async () => {
    env = await createTestEnv();
    await env.startMonitor();
    await waitFor('readiness', async () => env.monitors[0]!.notReadyReason() === null);

    const base = Date.now();
    const at = (ms: number) => new Date(base + ms).toISOString();
    const approvals = [];
    // "kid" gets 5,000 approved contacts; the newcomer's approval both ways comes last in the backlog.
    for (let i = 0; i < 4998; i++) {
      approvals.push({ key: 'kid', value: json({ type: 'contact.approved', eventId: `ap-${i}`, occurredAt: at(i % 50), childId: 'kid', contactId: `contact-${i}` }) });
    }
    approvals.push({ key: 'kid', value: json({ type: 'contact.approved', eventId: 'ap-new-1', occurredAt: at(60), childId: 'kid', contactId: 'newcomer' }) });
    approvals.push({ key: 'newcomer', value: json({ type: 'contact.approved', eventId: 'ap-new-2', occurredAt: at(60), childId: 'newcomer', contactId: 'kid' }) });

    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: env.config.topics.membership, messages: [{ key: 'room', value: json({ type: 'chat.created', eventId: 'room-1', occurredAt: at(0), chatId: 'room', createdBy: 'kid', members: ['kid'] }) }] });
    await waitUntilConsumed(env);
    await producer.send({ topic: env.config.topics.approvals, messages: approvals, acks: -1 });
    await producer.send({ topic: env.config.topics.membership, messages: [{ key: 'room', value: json({ type: 'member.added', eventId: 'room-2', occurredAt: at(70), chatId: 'room', userId: 'newcomer', addedBy: 'kid' }) }], acks: -1 });
    // A control case in the same run: a stranger nobody approved is still caught.
    await producer.send({ topic: env.config.topics.membership, messages: [{ key: 'room', value: json({ type: 'member.added', eventId: 'room-3', occurredAt: at(80), chatId: 'room', userId: 'stranger', addedBy: 'kid' }) }], acks: -1 });
    await producer.disconnect();
    await waitUntilConsumed(env, 120_000);

    const alerts = await readTopic<AlertRecord>(env.admin, env.config.topics.alerts);
    expect(alerts.map((a) => a.value.pair).sort()).toEqual([['kid', 'stranger'], ['newcomer', 'stranger']]);
    expect(alerts.every((a) => a.value.trigger.eventId === 'room-3')).toBe(true);
  });
});

/** A generated stream with known answers: every fifth chat pairs two children who never approved each other. */
function generatedStream(chats: number, base: number) {
  const at = (s: number) => new Date(base + s).toISOString();
  const approvals: Array<{ key: string; value: string }> = [];
  const membership: Array<{ key: string; value: string }> = [];
  const messages: Array<{ key: string; value: string }> = [];
  const expected = new Set<string>();
  for (let c = 0; c < chats; c++) {
    const [a, b, d] = [`c${c}-a`, `c${c}-b`, `c${c}-d`];
    const pairs: Array<[string, string]> = [[a, b], [a, d], [b, d]];
    for (const [x, y] of pairs) {
      const broken = c % 5 === 0 && x === b && y === d;
      if (broken) {
        expected.add(`chat-${c}|${b}|${d}`);
        continue;
      }
      approvals.push({ key: x, value: json({ type: 'contact.approved', eventId: `ap-${c}-${x}-${y}`, occurredAt: at(c), childId: x, contactId: y }) });
      approvals.push({ key: y, value: json({ type: 'contact.approved', eventId: `ap-${c}-${y}-${x}`, occurredAt: at(c), childId: y, contactId: x }) });
    }
    membership.push({ key: `chat-${c}`, value: json({ type: 'chat.created', eventId: `cc-${c}`, occurredAt: at(c + 1), chatId: `chat-${c}`, createdBy: a, members: [a, b] }) });
    membership.push({ key: `chat-${c}`, value: json({ type: 'member.added', eventId: `ma-${c}`, occurredAt: at(c + 2), chatId: `chat-${c}`, userId: d, addedBy: a }) });
    messages.push({ key: `chat-${c}`, value: json({ type: 'message.sent', eventId: `ms-${c}`, occurredAt: at(c + 3), chatId: `chat-${c}`, messageId: `m${c}`, senderId: a, text: 'hi' }) });
  }
  return { approvals, membership, messages, expected };
}

describe('restarts', () => {
  it('a monitor stopped mid-stream and started again neither misses nor duplicates an alert', async () => {
    env = await createTestEnv();
    const stream = generatedStream(400, Date.now());
    const producer = kafka.producer();
    await producer.connect();
    const half = (list: Array<{ key: string; value: string }>, first: boolean) => (first ? list.slice(0, list.length / 2) : list.slice(list.length / 2));
    const send = async (first: boolean) => {
      await producer.send({ topic: env.config.topics.approvals, messages: half(stream.approvals, first), acks: -1 });
      await producer.send({ topic: env.config.topics.membership, messages: half(stream.membership, first), acks: -1 });
      await producer.send({ topic: env.config.topics.messages, messages: half(stream.messages, first), acks: -1 });
    };
    await send(true);
    const first = await env.startMonitor();
    await waitFor('some alerts', async () => (await readTopic(env.admin, env.config.topics.alerts)).length >= 5, 60_000);
    await first.stop();
    await send(false);
    await env.startMonitor();
    await waitUntilConsumed(env, 120_000);
    await producer.disconnect();

    const alerts = await readTopic<AlertRecord>(env.admin, env.config.topics.alerts);
    const byPairing = new Map<string, Set<string>>();
    for (const a of alerts) {
      const k = `${a.value.chatId}|${a.value.pair[0]}|${a.value.pair[1]}`;
      byPairing.set(k, (byPairing.get(k) ?? new Set()).add(a.value.alertId));
    }
    expect(new Set(byPairing.keys())).toEqual(stream.expected);
    for (const ids of byPairing.values()) expect(ids.size).toBe(1);

    const freezes = (await readTopic<FreezeCommand>(env.admin, env.config.topics.control)).filter((r) => r.value.type === 'chat.freeze');
    const frozenChats = new Map<string, Set<string>>();
    for (const f of freezes) frozenChats.set(f.value.chatId, (frozenChats.get(f.value.chatId) ?? new Set()).add(f.value.alertId));
    expect(frozenChats.size).toBe(stream.expected.size);
    for (const ids of frozenChats.values()) expect(ids.size).toBe(1);
  });
});
