/** The cross-topic ordering rule and at-least-once restarts, on the real broker and Redis. */
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertRecord } from '../../src/actions/records.js';
import type { TestEnv } from '../support/harness.js';
import { consumerGroups, recordsNotCommitted } from '../../src/stream/consumer-groups.js';
import { createTestEnv, kafka, readTopic, waitFor, waitUntilConsumed } from '../support/harness.js';
import { expectExactAnswers, knownStream, produceStream } from '../support/stream.js';

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
      approvals.push({
        key: 'kid',
        value: json({
          type: 'contact.approved',
          eventId: `ap-${i}`,
          occurredAt: at(i % 50),
          childId: 'kid',
          contactId: `contact-${i}`,
        }),
      });
    }
    approvals.push({
      key: 'kid',
      value: json({
        type: 'contact.approved',
        eventId: 'ap-new-1',
        occurredAt: at(60),
        childId: 'kid',
        contactId: 'newcomer',
      }),
    });
    approvals.push({
      key: 'newcomer',
      value: json({
        type: 'contact.approved',
        eventId: 'ap-new-2',
        occurredAt: at(60),
        childId: 'newcomer',
        contactId: 'kid',
      }),
    });

    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: env.config.topics.membership,
      messages: [
        {
          key: 'room',
          value: json({
            type: 'chat.created',
            eventId: 'room-1',
            occurredAt: at(0),
            chatId: 'room',
            createdBy: 'kid',
            members: ['kid'],
          }),
        },
      ],
    });
    await waitUntilConsumed(env);
    await producer.send({ topic: env.config.topics.approvals, messages: approvals, acks: -1 });
    await producer.send({
      topic: env.config.topics.membership,
      messages: [
        {
          key: 'room',
          value: json({
            type: 'member.added',
            eventId: 'room-2',
            occurredAt: at(70),
            chatId: 'room',
            userId: 'newcomer',
            addedBy: 'kid',
          }),
        },
      ],
      acks: -1,
    });
    // A control case in the same run: a stranger nobody approved is still caught.
    await producer.send({
      topic: env.config.topics.membership,
      messages: [
        {
          key: 'room',
          value: json({
            type: 'member.added',
            eventId: 'room-3',
            occurredAt: at(80),
            chatId: 'room',
            userId: 'stranger',
            addedBy: 'kid',
          }),
        },
      ],
      acks: -1,
    });
    await producer.disconnect();
    await waitUntilConsumed(env, 120_000);

    const alerts = await readTopic<AlertRecord>(env.admin, env.config.topics.alerts);
    expect(alerts.map((a) => a.value.pair).sort()).toEqual([
      ['kid', 'stranger'],
      ['newcomer', 'stranger'],
    ]);
    expect(alerts.every((a) => a.value.trigger.eventId === 'room-3')).toBe(true);
  });
});

describe('restarts', () => {
  it('a monitor stopped cleanly commits everything it judged, though its commit timer never fired', async () => {
    env = await createTestEnv();
    const stream = knownStream(200, Date.now());
    const producer = kafka.producer();
    await producer.connect();
    await produceStream(producer, env, stream);
    await producer.disconnect();
    // The timer's first commit is an hour away: only the stop can commit.
    const monitor = await env.startMonitor({}, { commitIntervalMs: 3_600_000 });
    const judged = async () => {
      const page = await monitor.metrics.registry.metrics();
      return [...page.matchAll(/^pairguard_events_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    };
    // Every record the groups read (the monitor's own freezes on the control topic included) is judged.
    const records = async () => {
      let n = 0;
      for (const g of consumerGroups(env.config))
        for (const t of g.topics) for (const p of await env.admin.fetchTopicOffsets(t)) n += Number(p.high);
      return n;
    };
    await waitFor(
      'every record judged',
      async () =>
        (await judged()) === (await records()) &&
        (await readTopic(env.admin, env.config.topics.control)).length === stream.expected.size,
      60_000,
    );
    expect(await recordsNotCommitted(env.admin, env.config)).toBe(BigInt(await records()));
    await monitor.stop();
    expect(await recordsNotCommitted(env.admin, env.config)).toBe(0n);
  });

  it('a monitor stopped mid-stream and started again neither misses nor duplicates an alert', async () => {
    env = await createTestEnv();
    const stream = knownStream(400, Date.now());
    const producer = kafka.producer();
    await producer.connect();
    await produceStream(producer, env, stream, 0, 0.5);
    const first = await env.startMonitor();
    await waitFor(
      'some alerts',
      async () => (await readTopic(env.admin, env.config.topics.alerts)).length >= 5,
      60_000,
    );
    await first.stop();
    await produceStream(producer, env, stream, 0.5, 1);
    await env.startMonitor();
    await waitUntilConsumed(env, 120_000);
    await producer.disconnect();
    await expectExactAnswers(env, stream);
  });
});
