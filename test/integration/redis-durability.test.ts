/**
 * A Redis that can lose pairguard's state: refused when it evicts keys, warned about when it
 * keeps no append-only file, and an emptied one noticed within seconds even with no traffic.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { replayFile } from '../../src/cli/replay.js';
import type { TestEnv } from '../support/harness.js';
import { createTestEnv, kafka, waitFor, waitUntilConsumed } from '../support/harness.js';
import { PrivateRedis } from '../support/private-redis.js';

let env: TestEnv | undefined;
let redis: PrivateRedis | undefined;
afterEach(async () => {
  await env?.cleanup();
  await redis?.destroy();
  [env, redis] = [undefined, undefined];
});

describe('a Redis that can lose the state', () => {
  it('is refused at start-up when it evicts keys, with one line naming REDIS_URL and the policy', async () => {
    redis = await PrivateRedis.start({
      persist: true,
      args: ['--maxmemory', '100mb', '--maxmemory-policy', 'volatile-lru'],
    });
    env = await createTestEnv({ env: { REDIS_URL: redis.url } });
    const err = await env.startMonitor().then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toBe(
      `invalid REDIS_URL: Redis 127.0.0.1:${redis.port} evicts keys under memory pressure (maxmemory-policy volatile-lru), which would silently forget approvals and decisions; set maxmemory-policy noeviction there`,
    );
  });

  it('is warned about when it keeps no append-only file, and an emptied one stops the monitor within seconds with no traffic', async () => {
    redis = await PrivateRedis.start({ persist: false });
    env = await createTestEnv({ env: { REDIS_URL: redis.url } });
    await replayFile({
      kafka,
      topics: env.config.topics,
      file: 'test/fixtures/flaw-2019.jsonl',
      createPartitions: 0,
      progress: false,
    });
    const monitor = await env.startMonitor();
    expect(
      env.logs
        .lines()
        .filter((l) => String(l.msg).startsWith('Redis keeps no append-only file'))
        .map((l) => l.nodes),
    ).toEqual([[`127.0.0.1:${redis.port}`]]);
    let fatal: string | null = null;
    monitor.onFatalStop((reason) => {
      fatal = reason;
    });
    await waitUntilConsumed(env);

    await redis.kill();
    await redis.restart();
    const restartedAt = Date.now();
    await waitFor('the monitor to notice the state is gone', async () => fatal !== null, 20_000);
    expect(Date.now() - restartedAt).toBeLessThan(10_000);
    expect(fatal).toContain('Redis holds no pairguard state any more');
  });
});
