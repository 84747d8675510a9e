/** Admin endpoints need the configured bearer token; without one configured they do not exist. */
import { afterEach, describe, expect, it } from 'vitest';
import { replayFile } from '../../src/cli/replay.js';
import type { TestEnv } from '../support/harness.js';
import { createTestEnv, kafka, waitUntilConsumed } from '../support/harness.js';

let env: TestEnv;
afterEach(async () => env?.cleanup());
const TOKEN = 'test-admin-token-0123456789abcdef';

describe('admin endpoints', () => {
  it('refuse requests without the bearer token and show a chat to one that has it', async () => {
    env = await createTestEnv({ env: { PAIRGUARD_ADMIN_TOKEN: TOKEN } });
    await replayFile({
      kafka,
      topics: env.config.topics,
      file: 'test/fixtures/flaw-2019.jsonl',
      createPartitions: 0,
      progress: false,
    });
    const monitor = await env.startMonitor();
    await waitUntilConsumed(env);
    const url = `http://127.0.0.1:${monitor.httpPort}/admin/chats/group-1`;

    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: `Bearer ${TOKEN}x` } })).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: TOKEN } })).status).toBe(401);
    const ok = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({
      chatId: 'group-1',
      members: ['alice', 'bob', 'carol'],
      openEpisodes: [{ pair: ['bob', 'carol'], alertWritten: true }],
      frozen: { commandWritten: true },
    });
  });

  it('do not exist when no token is configured', async () => {
    env = await createTestEnv();
    const monitor = await env.startMonitor();
    expect(
      (
        await fetch(`http://127.0.0.1:${monitor.httpPort}/admin/chats/x`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        })
      ).status,
    ).toBe(404);
  });
});
