/**
 * A history produced first and judged afterwards (contract §6, "order-independent judgement"):
 * generated histories are replayed into fresh topics before any monitor starts, then judged, and
 * the alerts and freezes are compared with the generator's answer file, which is worked out by
 * brute force and independently of pairguard's rule.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertRecord, FreezeCommand } from '../../src/actions/records.js';
import { replayLines } from '../../src/cli/replay.js';
import type { SyntheticAnswers } from '../../src/synthetic/answers.js';
import { SyntheticPlatform } from '../../src/synthetic/platform.js';
import type { TestEnv } from '../support/harness.js';
import { createTestEnv, kafka, readTopic, waitUntilConsumed } from '../support/harness.js';

const envs: TestEnv[] = [];
afterEach(async () => {
  await Promise.all(envs.splice(0).map((e) => e.cleanup()));
});

/** Every episode the answer file holds, as `chat pair openedBy`. */
function expectedEpisodes(answers: SyntheticAnswers): Set<string> {
  const out = new Set<string>();
  for (const c of answers.chats)
    for (const p of c.pairs) for (const e of p.episodes) out.add(`${c.chatId} ${p.pair.join('+')} ${e.openedBy}`);
  return out;
}

/** What a run wrote, against the answers: missed and false episodes, freezes outside flagged chats, freezes per chat. */
async function compare(env: TestEnv, answers: SyntheticAnswers) {
  const alerts = (await readTopic<AlertRecord>(env.admin, env.config.topics.alerts)).map((r) => r.value);
  const freezes = (await readTopic<FreezeCommand>(env.admin, env.config.topics.control))
    .map((r) => r.value)
    .filter((v) => v.type === 'chat.freeze');
  const expected = expectedEpisodes(answers);
  const written = new Set(alerts.map((a) => `${a.chatId} ${a.pair.join('+')} ${a.trigger.eventId}`));
  const flagged = new Set(answers.chats.map((c) => c.chatId));
  const perChat = new Map<string, number>();
  for (const f of freezes) perChat.set(f.chatId, (perChat.get(f.chatId) ?? 0) + 1);
  return {
    expected: expected.size,
    written: alerts.length,
    missed: [...expected].filter((e) => !written.has(e)),
    false: [...written].filter((e) => !expected.has(e)),
    duplicates: alerts.length - written.size,
    falseFreezes: freezes.filter((f) => !flagged.has(f.chatId)).map((f) => f.chatId),
    frozenTwice: [...perChat].filter(([, n]) => n > 1).map(([c]) => c),
  };
}

/** A generated history with every injected kind at `rate` per 10,000 events (half of them later ended). */
function history(seed: number, rate: number) {
  const platform = new SyntheticPlatform({
    seed,
    events: 20_000,
    rates: { 'group-flaw': rate, 'revocation-in-chat': rate, 'unknown-user': rate, 'non-member-message': rate },
  });
  return { lines: [...platform.events()].map((e) => JSON.stringify(e)), answers: platform.answers() };
}

describe('a backlog judged exactly as the answer file says', () => {
  it.each([
    { seed: 3, rate: 10, instances: 1 },
    { seed: 11, rate: 25, instances: 1 },
    { seed: 7, rate: 15, instances: 3 },
  ])(
    'judges history $seed ($rate per 10,000 of each kind), replayed before $instances instance(s) start: 0 missed, 0 false, 0 false freezes',
    async ({ seed, rate, instances }) => {
      const { lines, answers } = history(seed, rate);
      const env = await createTestEnv({ partitions: 3 });
      envs.push(env);
      await replayLines({ kafka, topics: env.config.topics, createPartitions: 0 }, lines);
      for (let i = 0; i < instances; i++) await env.startMonitor();
      await waitUntilConsumed(env, 240_000);
      const result = await compare(env, answers);
      // The answer file has episodes to find, ended ones among them (approved later, or the offender left).
      expect(result.expected).toBeGreaterThan(100);
      expect({ ...result, missed: result.missed.slice(0, 5), false: result.false.slice(0, 5) }).toMatchObject({
        written: result.expected,
        missed: [],
        false: [],
        duplicates: 0,
        falseFreezes: [],
        frozenTwice: [],
      });
    },
    400_000,
  );
});

describe('a backlog replayed with its reviewers’ unfreezes', () => {
  it('freezes no chat again for an episode a reviewer cleared, and freezes it for a violation after the unfreeze', async () => {
    const env = await createTestEnv();
    envs.push(env);
    const t = env.config.topics;
    const base = Date.UTC(2026, 2, 1, 9, 0, 0);
    const at = (s: number) => new Date(base + s * 1000).toISOString();
    const line = (topic: string, key: string, value: object) => ({ topic, key, value: JSON.stringify(value) });
    const records = [
      line(t.approvals, 'kid-a', {
        type: 'user.registered',
        eventId: 'r1',
        occurredAt: at(0),
        userId: 'kid-a',
        role: 'child',
      }),
      line(t.approvals, 'kid-b', {
        type: 'user.registered',
        eventId: 'r2',
        occurredAt: at(0),
        userId: 'kid-b',
        role: 'child',
      }),
      line(t.membership, 'reviewed', {
        type: 'chat.created',
        eventId: 'c1',
        occurredAt: at(1),
        chatId: 'reviewed',
        createdBy: 'kid-a',
        members: ['kid-a', 'stranger'],
      }),
      line(t.membership, 'kept', {
        type: 'chat.created',
        eventId: 'c2',
        occurredAt: at(2),
        chatId: 'kept',
        createdBy: 'kid-b',
        members: ['kid-b', 'stranger'],
      }),
      // The reviewer looked at the chat (frozen for c1 when this history was live) and cleared it.
      line(t.control, 'reviewed', { type: 'chat.unfrozen', chatId: 'reviewed', by: 'reviewer', occurredAt: at(3) }),
      // A new violation after the review.
      line(t.membership, 'reviewed', {
        type: 'member.added',
        eventId: 'a1',
        occurredAt: at(5),
        chatId: 'reviewed',
        userId: 'stranger-2',
        addedBy: 'kid-a',
      }),
    ];
    const producer = kafka.producer();
    await producer.connect();
    for (const r of records)
      await producer.send({ topic: r.topic, acks: -1, messages: [{ key: r.key, value: r.value }] });
    await producer.disconnect();
    await env.startMonitor();
    await waitUntilConsumed(env);
    const alerts = (await readTopic<AlertRecord>(env.admin, t.alerts)).map((r) => r.value);
    const byTrigger = new Map(alerts.map((a) => [a.alertId, a.trigger.eventId]));
    expect(alerts.map((a) => `${a.chatId} ${a.pair.join('+')} ${a.trigger.eventId}`).sort()).toEqual([
      'kept kid-b+stranger c2',
      'reviewed kid-a+stranger c1',
      'reviewed kid-a+stranger-2 a1',
      'reviewed stranger+stranger-2 a1',
    ]);
    const freezes = (await readTopic<FreezeCommand>(env.admin, t.control))
      .map((r) => r.value)
      .filter((v) => v.type === 'chat.freeze');
    // One freeze each: `kept` for c2, `reviewed` for the violation after its review, never for c1.
    expect(freezes.map((f) => `${f.chatId} ${byTrigger.get(f.alertId)}`).sort()).toEqual(['kept c2', 'reviewed a1']);
  }, 60_000);
});
