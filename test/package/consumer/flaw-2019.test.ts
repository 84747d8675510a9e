/**
 * Another project's suite, using pairguard as installed from its package: the 2019 group-chat
 * flaw (bob and carol, each approved only with alice, put in one chat) is alerted on and frozen.
 */
import { writeFileSync } from 'node:fs';
import { createPairguardTestEnv } from 'pairguard/testing';
import { expect, it } from 'vitest';

it(
  'alerts on and freezes the 2019 group-chat flaw, and cleans up when the block is left',
  { timeout: 60_000 },
  async () => {
    await using env = await createPairguardTestEnv({
      brokers: [process.env.KAFKA_BROKERS ?? '127.0.0.1:9092'],
      redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      partitions: 1,
    });
    // The suite that installed this project checks that the topics and keys are gone afterwards.
    writeFileSync('env-id.txt', env.id);
    await env.startMonitor();
    await env.replay('fixtures/flaw-2019.jsonl');
    const [alert] = await env.waitForAlerts({ count: 1 });
    expect(alert).toMatchObject({
      schemaVersion: 1,
      type: 'pairing.unapproved',
      chatId: 'group-1',
      pair: ['bob', 'carol'],
      action: 'frozen',
    });
    expect(await env.waitForFreezes({ count: 1 })).toMatchObject([
      { type: 'chat.freeze', chatId: 'group-1', alertId: alert!.alertId },
    ]);
    expect(await env.waitForDeadLetters()).toEqual([]);
    expect(env.logs.text).toContain('pairguard started');
    expect(env.logs.text).not.toContain('SENTINEL-TEXT');
  },
);
