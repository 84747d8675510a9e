/**
 * The fixture cases, as one table both Redis layouts run: test/integration/fixtures.test.ts on
 * one server, test/integration/redis-cluster.test.ts on a three-master cluster. Each replays a
 * fixture into fresh topics and asserts the exact alerts, freezes and dead letters.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import type { AlertRecord, DeadLetter, FreezeCommand } from '../../src/actions/records.js';
import { replayFile } from '../../src/cli/replay.js';
import type { RedisClient } from '../../src/state/redis-client.js';
import type { TestEnv } from './harness.js';
import { createTestEnv, kafka, keysWithPrefix, readTopic, waitFor, waitUntilConsumed } from './harness.js';

/** Where the monitors of the cases keep their state. */
export interface FixtureTarget {
  /** Extra environment for every case (REDIS_URL of the Redis under test). */
  env?: Record<string, string>;
  /** A client of that Redis, to look at what the monitor stored. */
  redis: (env: TestEnv) => RedisClient;
}

/** Registers the fixture cases (call inside a describe). */
export function fixtureCases(target: FixtureTarget): void {
  let env: TestEnv;
  afterEach(async () => env?.cleanup());

  const SENTINEL = 'SENTINEL-TEXT-7f3a';

  async function replay(name: string) {
    return replayFile({
      kafka,
      topics: env.config.topics,
      file: `test/fixtures/${name}.jsonl`,
      createPartitions: 0,
      progress: false,
    });
  }

  async function outputs() {
    const [alerts, control, dead] = await Promise.all([
      readTopic<AlertRecord>(env.admin, env.config.topics.alerts),
      readTopic<FreezeCommand | { type: string }>(env.admin, env.config.topics.control),
      readTopic<DeadLetter>(env.admin, env.config.topics.deadLetter),
    ]);
    return {
      alerts,
      freezes: control.filter((r) => r.value.type === 'chat.freeze') as Array<{
        key: string | null;
        value: FreezeCommand;
      }>,
      dead,
    };
  }

  async function metricsText(port: number) {
    return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  }

  /** Waits until the frozen-chats gauge (refreshed by the health check) reads `n`. */
  async function expectFrozenGauge(port: number, n: number) {
    await waitFor(
      `pairguard_frozen_chats ${n}`,
      async () => new RegExp(`^pairguard_frozen_chats ${n}$`, 'm').test(await metricsText(port)),
      10_000,
    );
  }

  /** Asserts the sentinel message text is nowhere pairguard writes: output topics, logs, Redis. */
  async function expectNoTextLeak() {
    for (const topic of [env.config.topics.alerts, env.config.topics.control, env.config.topics.deadLetter]) {
      const records = await readTopic(env.admin, topic);
      const raw = JSON.stringify(records);
      expect(raw).not.toContain(SENTINEL);
      for (const r of records) {
        const v = (r.value as { value?: string | null }).value;
        if (typeof v === 'string') expect(Buffer.from(v, 'base64').toString('utf8')).not.toContain(SENTINEL);
      }
    }
    expect(env.logs.text).not.toContain(SENTINEL);
    const redis = target.redis(env);
    const keys = await keysWithPrefix(redis, env.config.redisKeyPrefix);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      expect(key).not.toContain(SENTINEL);
      const type = await redis.type(key);
      const dump =
        type === 'hash'
          ? await redis.hgetall(key)
          : type === 'set'
            ? await redis.smembers(key)
            : type === 'zset'
              ? await redis.zrange(key, 0, -1, 'WITHSCORES')
              : await redis.get(key);
      expect(JSON.stringify(dump)).not.toContain(SENTINEL);
    }
  }

  it('catches and freezes the 2019 group-chat flaw, and never leaks message text', async () => {
    env = await createTestEnv({ env: target.env });
    expect(readFileSync('test/fixtures/flaw-2019.jsonl', 'utf8')).toContain(SENTINEL);
    await replay('flaw-2019');
    const monitor = await env.startMonitor();
    await waitUntilConsumed(env);
    const { alerts, freezes, dead } = await outputs();

    expect(alerts).toHaveLength(1);
    const alert = alerts[0]!;
    expect(alert.key).toBe('group-1');
    expect(alert.value).toMatchObject({
      type: 'pairing.unapproved',
      chatId: 'group-1',
      pair: ['bob', 'carol'],
      missing: [
        { childId: 'bob', contactId: 'carol' },
        { childId: 'carol', contactId: 'bob' },
      ],
      affectedChildren: ['bob', 'carol'],
      trigger: { eventId: 'flaw-2019-8', type: 'chat.created', topic: env.config.topics.membership },
      occurredAt: '2026-11-21T09:00:02.000Z',
      action: 'frozen',
    });
    expect(typeof alert.value.trigger.offset).toBe('number');
    expect(Date.parse(alert.value.detectedAt)).toBeGreaterThan(Date.now() - 120_000);
    expect(freezes.map((f) => [f.key, f.value.type, f.value.chatId, f.value.alertId, f.value.reason])).toEqual([
      ['group-1', 'chat.freeze', 'group-1', alert.value.alertId, 'unapproved-pairing'],
    ]);
    expect(dead).toEqual([]);

    const metrics = await metricsText(monitor.httpPort);
    expect(metrics).toContain('pairguard_violations_total{trigger="chat.created"} 1');
    expect(metrics).toContain('pairguard_chat_freezes_total 1');
    expect(metrics).toMatch(
      /pairguard_events_total\{topic="[^"]+\.membership",type="chat.created",outcome="violation"\} 1/,
    );
    expect(metrics).not.toMatch(/alice|bob|carol|group-1/);
    await expectFrozenGauge(monitor.httpPort, 1);
    await expectNoTextLeak();
  });

  it('raises nothing for an all-approved group, an adult-only chat and a child with approved adults', async () => {
    env = await createTestEnv({ env: target.env });
    await replay('all-approved');
    await env.startMonitor();
    await waitUntilConsumed(env);
    const { alerts, freezes, dead } = await outputs();
    expect({ alerts, freezes, dead }).toEqual({ alerts: [], freezes: [], dead: [] });
  });

  it('freezes every chat holding a pair when an approval is revoked', async () => {
    env = await createTestEnv({ env: target.env });
    await replay('revocation');
    await env.startMonitor();
    await waitUntilConsumed(env);
    expect((await outputs()).alerts).toEqual([]);

    const producer = kafka.producer();
    await producer.connect();
    const revoke = {
      type: 'contact.revoked',
      eventId: 'rev-1',
      occurredAt: new Date().toISOString(),
      childId: 'hana',
      contactId: 'gus',
      revokedBy: 'hana-parent',
    };
    await producer.send({
      topic: env.config.topics.approvals,
      messages: [{ key: 'hana', value: JSON.stringify(revoke) }],
    });
    await producer.disconnect();
    await waitUntilConsumed(env);

    const { alerts, freezes } = await outputs();
    const seen = alerts
      .map((a) => [a.value.chatId, a.value.pair, a.value.missing, a.value.trigger.eventId, a.value.action])
      .sort();
    expect(seen).toEqual([
      ['pair-chat', ['gus', 'hana'], [{ childId: 'hana', contactId: 'gus' }], 'rev-1', 'frozen'],
      ['trio-chat', ['gus', 'hana'], [{ childId: 'hana', contactId: 'gus' }], 'rev-1', 'frozen'],
    ]);
    expect(freezes.map((f) => f.value.chatId).sort()).toEqual(['pair-chat', 'trio-chat']);
    await expectFrozenGauge(env.monitors[0]!.httpPort, 2);
  });

  it('catches a revocation replayed together with the chats it affects, whichever is consumed first', async () => {
    env = await createTestEnv({ env: target.env });
    await replay('revocation');
    await replayFile({
      kafka,
      topics: env.config.topics,
      file: 'test/fixtures/revocation-late.jsonl',
      createPartitions: 0,
      progress: false,
    });
    await env.startMonitor();
    await waitUntilConsumed(env);
    const { alerts, freezes } = await outputs();
    // The alert names the event whose judging revealed the violation: the revocation, or a chat
    // event consumed after it (the chat consumer judges "as of now" too).
    expect(alerts.map((a) => [a.value.chatId, a.value.pair, a.value.missing, a.value.action]).sort()).toEqual([
      ['pair-chat', ['gus', 'hana'], [{ childId: 'hana', contactId: 'gus' }], 'frozen'],
      ['trio-chat', ['gus', 'hana'], [{ childId: 'hana', contactId: 'gus' }], 'frozen'],
    ]);
    for (const a of alerts) expect(['contact.revoked', 'chat.created', 'message.sent']).toContain(a.value.trigger.type);
    expect(freezes.map((f) => f.value.chatId).sort()).toEqual(['pair-chat', 'trio-chat']);
  });

  it('sends malformed records to the dead-letter topic with their reason and still judges the good ones', async () => {
    env = await createTestEnv({ env: target.env });
    await replay('malformed');
    const monitor = await env.startMonitor();
    await waitUntilConsumed(env);
    const { alerts, dead } = await outputs();

    expect(alerts.map((a) => [a.value.chatId, a.value.pair]).sort()).toEqual([
      ['jk', ['jo', 'kim']],
      ['ok-chat', ['jo', 'stranger']],
    ]);
    const reasons = dead.map((d) => [d.value.topic.split('.').pop(), d.value.error.split(':')[0]]).sort();
    expect(reasons).toEqual([
      ['approvals', 'invalid-json'],
      ['membership', 'invalid-fields'],
      ['membership', 'invalid-utf8'],
      ['membership', 'unknown-type'],
      ['messages', 'invalid-fields'],
      ['messages', 'invalid-json'],
    ]);
    const utf8 = dead.find((d) => d.value.error.startsWith('invalid-utf8'))!;
    expect(utf8.key).toBe('bad-chat');
    expect(utf8.value).toMatchObject({
      schemaVersion: 1,
      key: 'bad-chat',
      valueBytes: 5,
      partition: expect.any(Number),
      offset: expect.any(Number),
    });
    expect(utf8.value).not.toHaveProperty('value');
    const badJson = dead.find((d) => d.value.topic.endsWith('approvals'))!;
    expect(badJson.value).toMatchObject({
      valueBytes: 9,
      valueSha256: createHash('sha256').update('{not json').digest('hex'),
    });
    // From the messages topic: only the named fields of an object (no text), no value otherwise.
    const msgs = dead
      .filter((d) => d.value.topic.endsWith('messages'))
      .map((d) => (d.value.value ? Object.keys(JSON.parse(Buffer.from(d.value.value, 'base64').toString())) : null));
    expect(msgs.sort()).toEqual([null, ['type', 'eventId', 'occurredAt', 'chatId', 'messageId', 'senderId']]);

    const metrics = await metricsText(monitor.httpPort);
    expect(metrics).toMatch(/pairguard_dead_letters_total\{topic="[^"]+\.membership",reason="invalid-utf8"\} 1/);
    await expectNoTextLeak();
  });

  it('in alert-only mode alerts without freezing', async () => {
    env = await createTestEnv({ env: { ...target.env, PAIRGUARD_MODE: 'alert-only' } });
    await replay('flaw-2019');
    await env.startMonitor();
    await waitUntilConsumed(env);
    const { alerts, freezes } = await outputs();
    expect(alerts.map((a) => [a.value.pair, a.value.action])).toEqual([[['bob', 'carol'], 'alert-only']]);
    expect(freezes).toEqual([]);
  });

  it('freezes again after a reviewer unfreezes the chat and a new violation appears', async () => {
    env = await createTestEnv({ env: target.env });
    await replay('flaw-2019');
    await env.startMonitor();
    const monitor = env.monitors[0]!;
    const first = await waitFor('the first freeze', async () => (await outputs()).freezes[0]);
    await waitUntilConsumed(env);
    const gaps = async () =>
      Number(/pairguard_messages_after_freeze_total (\d+)/.exec(await metricsText(monitor.httpPort))![1]);
    const gapsBefore = await gaps();
    const producer = kafka.producer();
    await producer.connect();
    const now = Date.now();
    // The platform was told to freeze group-1 and a member still got a message through.
    await producer.send({
      topic: env.config.topics.messages,
      messages: [
        {
          key: 'group-1',
          value: JSON.stringify({
            type: 'message.sent',
            eventId: 'gap-1',
            occurredAt: new Date(now).toISOString(),
            chatId: 'group-1',
            messageId: 'm-gap',
            senderId: 'bob',
            text: SENTINEL,
          }),
        },
      ],
    });
    await waitUntilConsumed(env);
    expect(await gaps()).toBe(gapsBefore + 1);
    await expectFrozenGauge(monitor.httpPort, 1);
    await producer.send({
      topic: env.config.topics.control,
      messages: [
        {
          key: 'group-1',
          value: JSON.stringify({
            type: 'chat.unfrozen',
            chatId: 'group-1',
            by: 'reviewer-7',
            occurredAt: new Date(now).toISOString(),
          }),
        },
      ],
    });
    await waitUntilConsumed(env);
    await expectFrozenGauge(monitor.httpPort, 0);
    await producer.send({
      topic: env.config.topics.membership,
      messages: [
        {
          key: 'group-1',
          value: JSON.stringify({
            type: 'member.added',
            eventId: 'late-1',
            occurredAt: new Date(now + 1).toISOString(),
            chatId: 'group-1',
            userId: 'dave',
            addedBy: 'alice',
          }),
        },
      ],
    });
    await producer.disconnect();
    await waitUntilConsumed(env);
    const { alerts, freezes } = await outputs();
    expect(alerts.map((a) => a.value.pair).sort()).toEqual([
      ['alice', 'dave'],
      ['bob', 'carol'],
      ['bob', 'dave'],
      ['carol', 'dave'],
    ]);
    expect(freezes).toHaveLength(2);
    expect(freezes[1]!.value.alertId).not.toBe(first.value.alertId);
    await expectFrozenGauge(monitor.httpPort, 1);
    await expectNoTextLeak();
  });
}
