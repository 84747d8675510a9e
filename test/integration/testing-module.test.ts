/** `pairguard/testing`, used as the README shows: fixtures into fresh topics, wait for pairguard's alerts. */
import { afterEach, describe, expect, it } from 'vitest';
import type { PairguardTestEnv } from '../../src/testing/index.js';
import { createPairguardTestEnv } from '../../src/testing/index.js';

let env: PairguardTestEnv | undefined;
afterEach(async () => {
  await env?.cleanup();
  env = undefined;
});

describe('pairguard/testing', () => {
  it('replays a fixture into fresh topics and waits for the alert and the freeze', async () => {
    env = await createPairguardTestEnv({ brokers: ['127.0.0.1:9092'], redisUrl: 'redis://127.0.0.1:6379' });
    await env.startMonitor();
    await env.replay('test/fixtures/flaw-2019.jsonl');
    const [alert] = await env.waitForAlerts({ count: 1 });
    expect(alert).toMatchObject({ chatId: 'group-1', pair: ['bob', 'carol'], action: 'frozen' });
    expect(await env.waitForFreezes({ count: 1 })).toMatchObject([{ type: 'chat.freeze', chatId: 'group-1', alertId: alert!.alertId }]);
  });

  it('takes events as objects, waits until pairguard is idle, and cleans up after itself', async () => {
    env = await createPairguardTestEnv({ mode: 'alert-only', partitions: 1 });
    await env.startMonitor();
    const at = new Date().toISOString();
    await env.replay([
      { type: 'user.registered', eventId: 'r1', occurredAt: at, userId: 'kid', role: 'child' },
      { type: 'chat.created', eventId: 'c1', occurredAt: at, chatId: 'room', createdBy: 'kid', members: ['kid', 'stranger'] },
    ]);
    expect((await env.waitForAlerts()).map((a) => [a.chatId, a.pair, a.action])).toEqual([['room', ['kid', 'stranger'], 'alert-only']]);
    expect(await env.waitForFreezes()).toEqual([]);
    await expect(env.waitForAlerts({ count: 2, timeoutMs: 300 })).rejects.toThrow(/timed out after 300 ms waiting for 2 alerts; saw 1/);

    const { id } = env;
    await env.cleanup();
    await env.cleanup();
    const { kafka } = await import('../support/harness.js');
    const admin = kafka.admin();
    await admin.connect();
    expect((await admin.listTopics()).filter((t) => t.startsWith(id))).toEqual([]);
    await admin.disconnect();
  });
});
