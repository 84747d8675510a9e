/**
 * The freeze breaker shared by three instances on the real Redis: the cap holds across them,
 * it stays open until a person resets it, alerts say why a freeze was withheld, and the reset
 * applies the withheld freezes whose violation still stands.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertRecord, FreezeCommand } from '../../src/actions/records.js';
import { breakerStatus, describeBreaker, requestBreakerReset } from '../../src/cli/breaker.js';
import { replayLines } from '../../src/cli/replay.js';
import type { TestEnv } from '../support/harness.js';
import { createTestEnv, readTopic, waitFor, waitUntilConsumed } from '../support/harness.js';

let env: TestEnv;
afterEach(async () => env?.cleanup());

let n = 0;
const ev = (type: string, body: Record<string, unknown>) =>
  JSON.stringify({
    type,
    eventId: `fb-${++n}`,
    occurredAt: new Date(Date.UTC(2026, 10, 21, 9, 0, n)).toISOString(),
    ...body,
  });
/** The 2019 flaw in chat `g<i>`, with children of its own. */
function flaw(i: number): string[] {
  const [a, b, c] = [`a${i}`, `b${i}`, `c${i}`];
  return [
    ...[a, b, c].map((u) => ev('user.registered', { userId: u, role: 'child' })),
    ...[
      [a, b],
      [b, a],
      [a, c],
      [c, a],
    ].map(([x, y]) => ev('contact.approved', { childId: x, contactId: y, approvedBy: `${x}-parent` })),
    ev('chat.created', { chatId: `g${i}`, createdBy: a, members: [a, b, c] }),
  ];
}

const gauge = async (port: number, name: string) =>
  Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text())?.[1]);

describe('the freeze breaker', () => {
  it('caps freezes across three instances, holds until reset, then applies the withheld freezes that still stand', async () => {
    env = await createTestEnv({
      partitions: 3,
      env: { PAIRGUARD_FREEZE_BUDGET: '3', PAIRGUARD_FREEZE_BUDGET_WINDOW_SECONDS: '3600' },
    });
    const monitors = await Promise.all([env.startMonitor(), env.startMonitor(), env.startMonitor()]);
    await replayLines(
      { kafka: env.kafka, topics: env.config.topics, createPartitions: 0 },
      Array.from({ length: 7 }, (_, i) => flaw(i)).flat(),
    );
    await waitUntilConsumed(env);

    const alerts = await readTopic<AlertRecord>(env.admin, env.config.topics.alerts);
    const freezes = async () =>
      (await readTopic<FreezeCommand>(env.admin, env.config.topics.control))
        .filter((r) => r.value.type === 'chat.freeze')
        .map((r) => r.key!);
    expect(alerts).toHaveLength(7);
    const frozenFirst = await freezes();
    // Exactly the cap, though three instances judged the chats concurrently.
    expect(frozenFirst).toHaveLength(3);
    const withheldAlerts = alerts.filter((a) => a.value.freezeWithheld === 'freeze-breaker-open');
    expect(withheldAlerts.map((a) => a.value.action)).toEqual(['alert-only', 'alert-only', 'alert-only', 'alert-only']);
    expect(new Set([...frozenFirst, ...withheldAlerts.map((a) => a.key!)]).size).toBe(7);

    const open = await breakerStatus(env.config);
    expect(open).toMatchObject({ open: true, frozenInWindow: 3, limit: 3 });
    expect(open!.withheld.map((w) => w.chatId).sort()).toEqual(withheldAlerts.map((a) => a.key!).sort());
    expect(describeBreaker(open)).toContain('the freeze breaker is OPEN since');
    for (const m of monitors)
      await waitFor(
        'every instance to show the breaker open',
        async () => (await gauge(m.httpPort, 'pairguard_freeze_budget_exhausted')) === 1,
      );
    expect(await gauge(monitors[0]!.httpPort, 'pairguard_freezes_withheld_pending')).toBe(4);

    // One withheld chat stops violating before the reset: its parents approve after all.
    const healed = withheldAlerts[0]!.value;
    const [x, y] = healed.pair;
    await replayLines({ kafka: env.kafka, topics: env.config.topics, createPartitions: 0 }, [
      ev('contact.approved', { childId: x, contactId: y, approvedBy: `${x}-parent` }),
      ev('contact.approved', { childId: y, contactId: x, approvedBy: `${y}-parent` }),
    ]);
    await waitUntilConsumed(env);
    expect((await breakerStatus(env.config))!.open).toBe(true);

    await requestBreakerReset(env.kafka, env.config, 'oncall-test');
    await waitUntilConsumed(env);
    const frozenAfter = await freezes();
    const stillStanding = withheldAlerts.map((a) => a.key!).filter((k) => k !== healed.chatId);
    // The cap is 3 again with a fresh window: the three withheld chats still in violation fit.
    expect(frozenAfter).toHaveLength(6);
    expect(frozenAfter.filter((k) => !frozenFirst.includes(k)).sort()).toEqual(stillStanding.sort());
    expect(frozenAfter).not.toContain(healed.chatId);
    expect(await breakerStatus(env.config)).toMatchObject({ open: false, frozenInWindow: 3, withheld: [] });
    for (const m of monitors)
      await waitFor(
        'every instance to show the breaker closed',
        async () => (await gauge(m.httpPort, 'pairguard_freeze_budget_exhausted')) === 0,
      );
    const resetLines = env.logs.lines().filter((l) => l.msg === 'freeze breaker reset: automatic freezes resume');
    expect(resetLines.map((l) => [l.by, l.withheld, l.applied])).toEqual([['oncall-test', 4, 3]]);
  });
});
