/**
 * Pairguard on a real three-master Redis Cluster: the fixture cases of the single-server suite,
 * with the same expected alerts and freezes, then a generated stream whose keys cover every
 * master, checked for its exact answers and the frozen-chats gauge.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RedisClient } from '../../src/state/redis-client.js';
import { createRedis } from '../../src/state/redis-client.js';
import { freezeSent } from '../../src/state/decisions.js';
import { RedisStateStore } from '../../src/state/redis-store.js';
import { fixtureCases } from '../support/fixture-cases.js';
import type { TestEnv } from '../support/harness.js';
import { createTestEnv, kafka, keysWithPrefix, waitFor, waitUntilConsumed } from '../support/harness.js';
import { PrivateRedisCluster } from '../support/private-redis-cluster.js';
import { expectExactAnswers, knownStream, produceStream } from '../support/stream.js';

let cluster: PrivateRedisCluster;
let redis: RedisClient;

beforeAll(async () => {
  cluster = await PrivateRedisCluster.start(3);
  redis = createRedis(cluster.url);
});
afterAll(async () => {
  await redis?.quit();
  await cluster?.destroy();
});

describe('pairguard on a Redis Cluster: the fixture cases', () => {
  // A getter: the cluster's URL is known only once beforeAll has started it.
  fixtureCases({
    get env() {
      return { REDIS_URL: cluster.url };
    },
    redis: () => redis,
  });
});

describe('pairguard on a Redis Cluster', () => {
  let env: TestEnv | undefined;
  afterEach(async () => {
    await env?.cleanup();
    env = undefined;
  });

  /** How many of the environment's keys each master holds (a direct client sees only its own). */
  async function keysPerMaster(prefix: string): Promise<number[]> {
    return Promise.all(
      cluster.ports.map(async (port) => {
        const node = cluster.node(port);
        try {
          await node.connect();
          return (await keysWithPrefix(node, prefix)).length;
        } finally {
          node.disconnect();
        }
      }),
    );
  }

  it('spreads the state over every master and judges a generated stream exactly', async () => {
    env = await createTestEnv({ env: { REDIS_URL: cluster.url } });
    const stream = knownStream(300, Date.now(), 'c');
    const monitor = await env.startMonitor();
    const producer = kafka.producer();
    await producer.connect();
    await produceStream(producer, env, stream);
    await producer.disconnect();
    await waitUntilConsumed(env, 120_000);
    await expectExactAnswers(env, stream);

    const perMaster = await keysPerMaster(env.config.redisKeyPrefix);
    expect(perMaster).toHaveLength(3);
    for (const n of perMaster) expect(n).toBeGreaterThan(0);
    // Every key is on exactly one master: the cluster client's view is the sum of the nodes'.
    expect(perMaster.reduce((a, b) => a + b, 0)).toBe((await keysWithPrefix(redis, env.config.redisKeyPrefix)).length);

    // Each chat with a violation is frozen once, and the gauge counts exactly those.
    const frozen = stream.expected.size;
    expect(await redis.scard(`${env.config.redisKeyPrefix}frozen`)).toBe(frozen);
    await waitFor(
      `pairguard_frozen_chats ${frozen}`,
      async () =>
        new RegExp(`^pairguard_frozen_chats ${frozen}$`, 'm').test(
          await (await fetch(`http://127.0.0.1:${monitor.httpPort}/metrics`)).text(),
        ),
      10_000,
    );
  });

  it('keeps the frozen-chats index right through freeze, mark-sent and unfreeze, with the chats on different masters', async () => {
    const prefix = `pgtest:cluster-store-${process.pid}:`;
    const store = new RedisStateStore(redis, prefix);
    try {
      const chats = Array.from({ length: 12 }, (_, i) => `chat-${i}`);
      const rec = { alertId: 'f1', requestedAt: 1, triggerAt: 1, sent: false };
      expect(await Promise.all(chats.map((c) => store.recordFreeze(c, rec)))).toEqual(chats.map(() => true));
      expect(await store.recordFreeze('chat-0', { ...rec, alertId: 'f2' })).toBe(false);
      expect(await store.frozenChats()).toBe(12);
      for (const n of await keysPerMaster(prefix)) expect(n).toBeGreaterThan(0);
      const states = await store.readSenders(chats.map((chatId) => ({ chatId, userId: 'u' })));
      expect(states.map((s) => s.frozen?.record.alertId)).toEqual(chats.map(() => 'f1'));

      const frozen = (await store.readChat('chat-3')).frozen!;
      expect(await store.markSent(freezeSent('chat-3', frozen))).toBe(true);
      // A stale unfreeze leaves the freeze, and the index, as they were.
      expect(await store.liftFreeze('chat-3', frozen)).toBe(false);
      expect(await store.frozenChats()).toBe(12);
      expect(await store.liftFreeze('chat-3', (await store.readChat('chat-3')).frozen!)).toBe(true);
      expect(await store.frozenChats()).toBe(11);
      expect(await redis.sismember(store.keys.frozenChats(), 'chat-3')).toBe(0);

      // Membership of one chat indexed under users on other masters, read back in one call.
      await store.applyMembership('chat-m', ['u1', 'u2', 'u3', 'u4', 'u5', 'u6'], true, 10);
      for (const u of ['u1', 'u6']) expect(await store.chatsOf(u)).toEqual(['chat-m']);
      const users = await store.readUsers(
        new Map([
          ['u1', ['u2']],
          ['u2', ['u1']],
          ['u3', []],
        ]),
      );
      expect([...users.keys()]).toEqual(['u1', 'u2', 'u3']);
    } finally {
      await keysWithPrefix(redis, prefix).then((keys) => Promise.all(keys.map((k) => redis.del(k))));
    }
  });
});

// Last in the file: it empties one master of the cluster the other tests share.
describe('a Redis Cluster master that restarts empty', () => {
  let env: TestEnv | undefined;
  afterEach(async () => {
    await env?.cleanup();
    env = undefined;
  });

  it('is noticed within seconds though the other masters still hold their state', async () => {
    env = await createTestEnv({ env: { REDIS_URL: cluster.url } });
    const monitor = await env.startMonitor();
    let fatal: string | null = null;
    monitor.onFatalStop((reason) => {
      fatal = reason;
    });
    // The state marker is on every master.
    const markersPerMaster = await Promise.all(
      cluster.ports.map(async (port) => {
        const node = cluster.node(port);
        try {
          await node.connect();
          return (await keysWithPrefix(node, `${env!.config.redisKeyPrefix}state:`)).length;
        } finally {
          node.disconnect();
        }
      }),
    );
    expect(markersPerMaster.every((n) => n > 0)).toBe(true);
    expect(markersPerMaster.reduce((a, b) => a + b, 0)).toBe(64);

    await cluster.restartEmpty(cluster.ports[1]!);
    const restartedAt = Date.now();
    await waitFor(
      'the monitor to notice the lost master',
      async () => /redis lost pairguard state|shutting down/.test(monitor.notReadyReason() ?? ''),
      15_000,
    );
    expect(Date.now() - restartedAt).toBeLessThan(15_000);
    expect(env.logs.text).toContain('Redis holds no pairguard state any more');
    // It then stops itself, as on a single server (a restart rebuilds the state from the topics).
    await waitFor('the monitor to stop itself', async () => fatal !== null, 90_000);
    expect(await new RedisStateStore(redis, env.config.redisKeyPrefix).stateIntact()).toBe(false);
  });
});
