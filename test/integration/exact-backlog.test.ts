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
