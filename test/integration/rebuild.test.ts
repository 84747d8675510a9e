/**
 * Issue 17's new-user run, on the real broker and Redis: a chat with a stranger is frozen, a
 * reviewer unfreezes it, Redis loses pairguard's keys while the monitor is stopped, and the next
 * start rebuilds the state from the topics. What was written is learned back from the output
 * topics first: no alert is written again, no chat gets a second freeze, the reviewed chat is not
 * believed frozen, and the learned record is dropped once the rebuild has caught up.
 */
import { afterEach, expect, it } from 'vitest';
import type { AlertRecord, FreezeCommand } from '../../src/actions/records.js';
import type { TestEnv } from '../support/harness.js';
import {
  createTestEnv,
  deleteKeys,
  kafka,
  keysWithPrefix,
  readTopic,
  waitFor,
  waitUntilConsumed,
} from '../support/harness.js';

let env: TestEnv | undefined;
afterEach(async () => {
  await env?.cleanup();
  env = undefined;
});

it('a rebuild after Redis lost its state writes no alert again, no second freeze, and keeps the reviewed chat unfrozen', async () => {
  const e = (env = await createTestEnv());
  const t = e.config.topics;
  const prefix = e.config.redisKeyPrefix;
  const base = Date.now() - 60_000;
  const at = (s: number) => new Date(base + s * 1000).toISOString();
  const json = JSON.stringify;
  const producer = kafka.producer();
  await producer.connect();
  const send = async (topic: string, key: string, value: object) => {
    await producer.send({ topic, messages: [{ key, value: json(value) }], acks: -1 });
    await waitUntilConsumed(e);
  };
  const created = (chatId: string, members: string[], s: number) => ({
    type: 'chat.created',
    eventId: `${chatId}-created`,
    occurredAt: at(s),
    chatId,
    createdBy: members[0],
    members,
  });
  const frozenField = async (chatId: string) => e.redis.hget(`${prefix}c:{${chatId}}:e`, 'frozen');
  const freezesOn = async () =>
    (await readTopic<FreezeCommand>(e.admin, t.control)).filter((r) => r.value.type === 'chat.freeze');

  try {
    const first = await e.startMonitor();
    // Two chats of children who never approved each other: both frozen.
    await send(t.membership, 'reviewed', created('reviewed', ['kid-a', 'stranger'], 1));
    await send(t.membership, 'kept', created('kept', ['kid-b', 'stranger'], 2));
    // A reviewer unfreezes one of them.
    await send(t.control, 'reviewed', { type: 'chat.unfrozen', chatId: 'reviewed', by: 'reviewer', occurredAt: at(3) });
    expect(await frozenField('reviewed')).toBeNull();
    expect(await frozenField('kept')).not.toBeNull();
    const alertsBefore = await readTopic<AlertRecord>(e.admin, t.alerts);
    const freezesBefore = await freezesOn();
    expect(alertsBefore.map((a) => a.value.chatId).sort()).toEqual(['kept', 'reviewed']);
    expect(freezesBefore.map((f) => f.value.chatId).sort()).toEqual(['kept', 'reviewed']);

    // Redis loses every key of pairguard's while it is stopped.
    await first.stop();
    expect(await deleteKeys(e.redis, prefix)).toBeGreaterThan(0);
    expect(await keysWithPrefix(e.redis, prefix)).toEqual([]);

    await e.startMonitor();
    await waitUntilConsumed(e, 60_000).catch((err: Error) => {
      // The monitor's own account, for a failing run.
      for (const l of e.logs.lines()) if ((l.level as number) >= 40) console.info(JSON.stringify(l).slice(0, 400));
      throw err;
    });
    expect(e.logs.text).toContain('rebuilding state from the beginning of the input topics');
    expect(e.logs.text).toContain('learned the outputs already written');
    // The learned record is dropped once every group has caught up with its bound.
    await waitFor(
      'the learned record to be dropped',
      async () => (await e.redis.exists(`${prefix}learned`)) === 0,
      30_000,
    );
    expect((await keysWithPrefix(e.redis, `${prefix}learned`)).sort()).toEqual([]);
    expect(e.logs.text).toContain('the outputs learned from them are dropped');

    const alertsAfter = await readTopic<AlertRecord>(e.admin, t.alerts);
    expect(alertsAfter.map((a) => a.value.alertId).sort()).toEqual(alertsBefore.map((a) => a.value.alertId).sort());
    const freezesAfter = await freezesOn();
    expect(freezesAfter.map((f) => [f.value.chatId, f.value.alertId]).sort()).toEqual(
      freezesBefore.map((f) => [f.value.chatId, f.value.alertId]).sort(),
    );
    // pairguard's state: the reviewed chat not frozen, the other frozen with its freeze marked sent.
    expect(await frozenField('reviewed')).toBeNull();
    expect(JSON.parse((await frozenField('kept'))!)).toMatchObject({
      alertId: freezesBefore.find((f) => f.value.chatId === 'kept')!.value.alertId,
      sent: true,
    });
    expect((await e.redis.smembers(`${prefix}frozen`)).sort()).toEqual(['kept']);
    // Every alert's episode is marked sent: a replay would not write it again either.
    for (const chatId of ['reviewed', 'kept']) {
      const episodes = Object.entries(await e.redis.hgetall(`${prefix}c:{${chatId}}:e`)).filter(
        ([f]) => f !== 'frozen',
      );
      expect(episodes.map(([, v]) => (JSON.parse(v) as { sent: boolean }).sent)).toEqual([true]);
    }

    // Judging goes on as ever: a new stranger in the reviewed chat freezes it again, once.
    await send(t.membership, 'reviewed', {
      type: 'member.added',
      eventId: 'reviewed-added',
      occurredAt: at(10),
      chatId: 'reviewed',
      userId: 'stranger-2',
    });
    const freezesLast = await freezesOn();
    expect(freezesLast.filter((f) => f.value.chatId === 'reviewed')).toHaveLength(2);
    expect(freezesLast).toHaveLength(freezesBefore.length + 1);
    expect(await frozenField('reviewed')).not.toBeNull();
    console.info(
      JSON.stringify({
        test: 'rebuild-after-unfreeze',
        alertsBefore: alertsBefore.length,
        alertsAfterRebuild: alertsAfter.length,
        freezesBefore: freezesBefore.length,
        freezesAfterRebuild: freezesAfter.length,
      }),
    );
  } finally {
    await producer.disconnect();
  }
});
