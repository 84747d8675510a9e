// The README's jest example, as another project runs it: jest in its native ESM mode
// (NODE_OPTIONS=--experimental-vm-modules, no transform), since pairguard is an ES module.
import { writeFileSync } from 'node:fs';
import { createPairguardTestEnv } from 'pairguard/testing';

let env;
afterEach(() => env?.cleanup());

test('freezes the 2019 group-chat flaw', async () => {
  env = await createPairguardTestEnv({
    brokers: ['127.0.0.1:9092'],
    redisUrl: 'redis://127.0.0.1:6379',
    partitions: 1,
  });
  writeFileSync('jest-env-id.txt', env.id);
  await env.startMonitor();
  await env.replay('fixtures/flaw-2019.jsonl');
  const [alert] = await env.waitForAlerts({ count: 1 });
  expect(alert.pair).toEqual(['bob', 'carol']);
  expect(await env.waitForFreezes({ count: 1 })).toMatchObject([{ chatId: 'group-1' }]);
}, 60_000);
