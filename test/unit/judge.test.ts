import { beforeEach, describe, expect, it } from 'vitest';
import type { InputEvent } from '../../src/events/schema.js';
import type { JudgeDeps, Mode, Output } from '../../src/judge/judge.js';
import { applyWithheldFreeze, judgeEvent, judgeUnfreeze } from '../../src/judge/judge.js';
import { MemoryFreezeBreaker } from '../../src/state/memory-breaker.js';
import { MemoryStore } from '../../src/state/memory-store.js';
import { T0, added, approve, created, friends, iso, message, reg, removed, revoke } from '../support/events.js';

let store: MemoryStore;
let deps: JudgeDeps;
/** Each event's record offset: an event fed again is its record read again, at the same offset. */
let offsets = new Map<string, number>();

function setup(mode: Mode = 'enforce') {
  store = new MemoryStore();
  deps = { store, mode, now: () => T0 + 3_600_000 };
  offsets = new Map();
}

function offsetOf(eventId: string): number {
  if (!offsets.has(eventId)) offsets.set(eventId, offsets.size);
  return offsets.get(eventId)!;
}

async function feed(...events: Array<InputEvent | InputEvent[]>): Promise<Output[]> {
  const out: Output[] = [];
  for (const e of events.flat()) {
    const j = await judgeEvent(deps, {
      event: e,
      at: Date.parse(e.occurredAt),
      ref: { eventId: e.eventId, type: e.type, topic: 't', partition: 0, offset: offsetOf(e.eventId) },
    });
    out.push(...j.outputs);
  }
  return out;
}

/** Marks every output as written, as the publisher does after Kafka acknowledges it. */
async function publish(outputs: Output[]) {
  for (const o of outputs) if (o.mark) await store.markSent(o.mark);
  return outputs;
}

const alerts = (o: Output[]) =>
  o.filter((x) => x.kind === 'alert').map((x) => x.record as Extract<Output, { kind: 'alert' }>['record']);
const freezes = (o: Output[]) => o.filter((x) => x.kind === 'freeze');

beforeEach(() => setup());

describe('judging events', () => {
  it('catches the 2019 flaw: a group of A, B and C where only A approved C', async () => {
    const out = await publish(await feed(friends('A', 'B'), friends('A', 'C'), created('g', ['A', 'B', 'C'], 1)));
    expect(alerts(out)).toHaveLength(1);
    const [a] = alerts(out);
    expect(a).toMatchObject({
      type: 'pairing.unapproved',
      chatId: 'g',
      pair: ['B', 'C'],
      action: 'frozen',
      affectedChildren: ['B', 'C'],
      missing: [
        { childId: 'B', contactId: 'C' },
        { childId: 'C', contactId: 'B' },
      ],
      trigger: { type: 'chat.created', topic: 't', partition: 0 },
      occurredAt: iso(1),
    });
    expect(a!.alertId).toMatch(/^[0-9a-f]{32}$/);
    expect(freezes(out)).toHaveLength(1);
    expect(freezes(out)[0]!.record).toMatchObject({
      type: 'chat.freeze',
      chatId: 'g',
      alertId: a!.alertId,
      reason: 'unapproved-pairing',
    });
  });

  it('raises nothing for an all-approved group, an adult-only chat, or a child with approved adults', async () => {
    const out = await feed(
      friends('A', 'B'),
      friends('A', 'C'),
      friends('B', 'C'),
      created('g', ['A', 'B', 'C'], 1),
      reg('M', 'adult'),
      reg('N', 'adult'),
      created('adults', ['M', 'N'], 1),
      approve('K', 'M'),
      approve('K', 'N'),
      created('family', ['K', 'M', 'N'], 1),
    );
    expect(out).toEqual([]);
  });

  it('judges a newcomer against every member', async () => {
    const out = await feed(friends('A', 'B'), friends('A', 'C'), created('g', ['A', 'B'], 1), added('g', 'C', 2));
    expect(alerts(out).map((a) => a.pair)).toEqual([['B', 'C']]);
  });

  it('counts approvals that happened before the event even when consumed after it was applied', async () => {
    // The membership event is judged after the approvals are in state, as the barrier ensures.
    const out = await feed(friends('A', 'B', 1), created('g', ['A', 'B'], 2));
    expect(out).toEqual([]);
  });

  it('judges a violation as of its moment, whatever later facts were applied first: alerted and frozen', async () => {
    // The approval happened after the member joined but was applied before the join was judged:
    // the chat was in violation from 2 to 5, and a replay of history says so as the live run did.
    const out = await feed(approve('A', 'B', 1), approve('B', 'A', 5), created('g', ['A', 'B'], 2));
    expect(alerts(out)).toMatchObject([
      { pair: ['A', 'B'], action: 'frozen', missing: [{ childId: 'B', contactId: 'A' }] },
    ]);
    expect(freezes(out)).toHaveLength(1);
    // Judged again as of the approval: it began nothing.
    expect(await feed(approve('B', 'A', 5))).toEqual([]);
  });

  it('freezes every chat that holds a pair when an approval is revoked', async () => {
    await publish(
      await feed(friends('A', 'B'), created('g1', ['A', 'B'], 1), created('g2', ['A', 'B', 'Z'], 1), reg('Z', 'adult')),
    );
    // Z is an adult whom A and B never approved: g2 is in violation already.
    const before = store.decisions.get('g2')?.size ?? 0;
    const out = await feed(revoke('A', 'B', 3));
    expect(alerts(out).map((a) => [a.chatId, a.pair, a.trigger.type])).toEqual([
      ['g1', ['A', 'B'], 'contact.revoked'],
      ['g2', ['A', 'B'], 'contact.revoked'],
    ]);
    expect(freezes(out).map((f) => f.chatId)).toEqual(['g1']); // g2 was frozen already
    expect(before).toBeGreaterThan(0);
  });

  it('raises one alert per pairing per episode and one freeze per chat until unfrozen', async () => {
    let out = await publish(await feed(friends('A', 'B'), created('g', ['A', 'B', 'C'], 1)));
    expect(alerts(out)).toHaveLength(2); // A–C and B–C
    expect(freezes(out)).toHaveLength(1);
    out = await feed(message('g', 'C', 2), added('g', 'C', 3));
    expect(out).toEqual([]);

    // Approving ends the A–C episode; revoking again starts a new one, but the chat is still frozen.
    out = await publish(await feed(friends('A', 'C', 4), revoke('C', 'A', 5)));
    expect(alerts(out)).toMatchObject([{ pair: ['A', 'C'], action: 'frozen' }]);
    expect(freezes(out)).toEqual([]);

    // After a reviewer unfreezes the chat, a new violation freezes it again.
    expect(
      (await judgeUnfreeze(deps, { type: 'chat.unfrozen', chatId: 'g', by: 'rev', occurredAt: iso(6) }, T0 + 6000))
        .unfrozen,
    ).toBe(true);
    out = await publish(await feed(added('g', 'D', 7)));
    expect(alerts(out).map((a) => a.pair)).toEqual([
      ['A', 'D'],
      ['B', 'D'],
      ['C', 'D'],
    ]);
    expect(freezes(out)).toHaveLength(1);
  });

  it('ignores an unfreeze older than the violation it would lift', async () => {
    await publish(await feed(created('g', ['A', 'B'], 10)));
    expect(
      (await judgeUnfreeze(deps, { type: 'chat.unfrozen', chatId: 'g', by: 'rev', occurredAt: iso(5) }, T0 + 5000))
        .unfrozen,
    ).toBe(false);
    expect((await store.readChat('g')).frozen).not.toBeNull();
  });

  it('freezes again for a violation newer than an unfreeze consumed after it', async () => {
    // A–B frozen at 1; B leaves at 2; a reviewer unfreezes at 3; C joins at 4, judged while the
    // old freeze still stands (the unfreeze's partition lagged), so no new freeze then.
    const first = await publish(await feed(created('g', ['A', 'B'], 1)));
    let out = await publish(await feed(removed('g', 'B', 2), added('g', 'C', 4)));
    expect(alerts(out)).toMatchObject([{ pair: ['A', 'C'], action: 'frozen' }]);
    expect(freezes(out)).toEqual([]);
    const unfreeze = { type: 'chat.unfrozen', chatId: 'g', by: 'rev', occurredAt: iso(3) } as const;
    const judged = await judgeUnfreeze(deps, unfreeze, T0 + 3000);
    expect(judged.unfrozen).toBe(true);
    expect(freezes(judged.outputs)).toMatchObject([{ record: { alertId: alerts(out)[0]!.alertId } }]);
    expect(freezes(first)[0]!.record.alertId).not.toBe(alerts(out)[0]!.alertId);
    // Replayed (a crash before the freeze was sent): sent again, once, as a recovery.
    out = (await judgeUnfreeze(deps, unfreeze, T0 + 3000)).outputs;
    expect(out).toMatchObject([{ kind: 'freeze', recovered: true }]);
    await publish(out);
    expect((await judgeUnfreeze(deps, unfreeze, T0 + 3000)).outputs).toEqual([]);
  });

  it('does not freeze again for a violation older than the unfreeze, nor in alert-only mode', async () => {
    await publish(await feed(created('g', ['A', 'B'], 1)));
    const judged = await judgeUnfreeze(
      deps,
      { type: 'chat.unfrozen', chatId: 'g', by: 'rev', occurredAt: iso(3) },
      T0 + 3000,
    );
    expect(judged).toMatchObject({ unfrozen: true, outputs: [] });
    setup('alert-only');
    await publish(await feed(created('h', ['A', 'B'], 1)));
    expect(
      (await judgeUnfreeze(deps, { type: 'chat.unfrozen', chatId: 'h', by: 'rev', occurredAt: iso(0) }, T0)).outputs,
    ).toEqual([]);
  });

  it('ends an episode when a member leaves, and alerts again if they come back', async () => {
    let out = await publish(await feed(created('g', ['A', 'B'], 1)));
    expect(alerts(out)).toHaveLength(1);
    out = await feed(removed('g', 'B', 2));
    expect(out).toEqual([]);
    out = await feed(added('g', 'B', 3));
    expect(alerts(out)).toMatchObject([{ pair: ['A', 'B'], trigger: { type: 'member.added' } }]);
    // Two episodes of the pair, each known by the moment it began.
    expect((await store.readChat('g')).episodes.size).toBe(2);
  });

  it('treats a message sender who is not a known member as joining', async () => {
    await feed(friends('A', 'B'), created('g', ['A', 'B'], 1));
    const out = await feed(message('g', 'S', 2));
    expect(alerts(out).map((a) => a.pair)).toEqual([
      ['A', 'S'],
      ['B', 'S'],
    ]);
    expect(alerts(out)[0]!.trigger.type).toBe('message.sent');
  });

  it('counts a message in a chat pairguard froze as an enforcement gap', async () => {
    await publish(await feed(created('g', ['A', 'B'], 1)));
    const j = await judgeEvent(deps, {
      event: message('g', 'A', 2),
      at: T0 + 2000,
      ref: { eventId: 'x', type: 'message.sent', topic: 't', partition: 0, offset: 99 },
    });
    expect(j.messageAfterFreeze).toBe(true);
    expect(j.outputs).toEqual([]);
  });

  it('judges every chat of a user who becomes a child', async () => {
    await feed(reg('M', 'adult', 0), approve('K', 'M'), created('g', ['K', 'M'], 1), created('h', ['M', 'K'], 1));
    const out = await feed(reg('M', 'child', 2));
    expect(alerts(out).map((a) => [a.chatId, a.missing])).toEqual([
      ['g', [{ childId: 'M', contactId: 'K' }]],
      ['h', [{ childId: 'M', contactId: 'K' }]],
    ]);
  });

  it('in alert-only mode alerts but never freezes', async () => {
    setup('alert-only');
    const out = await feed(created('g', ['A', 'B'], 1));
    expect(alerts(out)).toMatchObject([{ action: 'alert-only' }]);
    expect(freezes(out)).toEqual([]);
  });

  it('re-sends, with the same alertId, what a crash kept from being written, and nothing once written', async () => {
    const event = created('g', ['A', 'B'], 1);
    const first = await feed(event); // outputs never published: the process "crashed"
    const replayed = await feed(event);
    expect(alerts(replayed).map((a) => a.alertId)).toEqual(alerts(first).map((a) => a.alertId));
    expect(freezes(replayed).map((f) => f.record.alertId)).toEqual(freezes(first).map((f) => f.record.alertId));
    expect(replayed.every((o) => o.recovered)).toBe(true);
    await publish(replayed);
    expect(await feed(event)).toEqual([]);
  });

  it('gives the same alertId for the same chat, pair and event, and a different one otherwise', async () => {
    const e = created('g', ['A', 'B'], 1);
    const a1 = alerts(await feed(e))[0]!.alertId;
    setup();
    const a2 = alerts(await feed(e))[0]!.alertId;
    setup();
    const a3 = alerts(await feed(created('g', ['A', 'B'], 1)))[0]!.alertId;
    expect(a2).toBe(a1);
    expect(a3).not.toBe(a1);
  });
});

describe('the freeze breaker', () => {
  const ref = (chat: string) =>
    ({ eventId: `x-${chat}`, type: 'chat.created', topic: 't', partition: 0, offset: 0 }) as const;

  it('trips at the cap of chats frozen in its sliding window, stays open past the window, and says so in each alert', async () => {
    let clock = T0;
    const breaker = new MemoryFreezeBreaker(2, 60_000);
    store = new MemoryStore();
    deps = { store, mode: 'enforce', now: () => clock, breaker };
    const results = [];
    for (const chat of ['g1', 'g2', 'g3', 'g4'])
      results.push(await judgeEvent(deps, { event: created(chat, ['A', 'B'], 1), at: T0 + 1000, ref: ref(chat) }));
    expect(results.map((r) => freezes(r.outputs).length)).toEqual([1, 1, 0, 0]);
    expect(results.map((r) => r.freezesWithheld)).toEqual([0, 0, 1, 1]);
    expect(results.map((r) => r.breakerTripped)).toEqual([false, false, true, false]);
    expect(results.map((r) => [alerts(r.outputs)[0]!.action, alerts(r.outputs)[0]!.freezeWithheld])).toEqual([
      ['frozen', undefined],
      ['frozen', undefined],
      ['alert-only', 'freeze-breaker-open'],
      ['alert-only', 'freeze-breaker-open'],
    ]);
    // A rate would have let the next window through; the breaker waits for a person.
    clock = T0 + 10 * 60_000;
    const later = await judgeEvent(deps, { event: created('g5', ['A', 'B'], 1), at: T0 + 1000, ref: ref('g5') });
    expect(freezes(later.outputs)).toEqual([]);
    expect((await breaker.state(clock)).withheld.map((w) => w.chatId)).toEqual(['g3', 'g4', 'g5']);
  });

  it('counts freezes, not violations: alerts in alert-only mode or in a frozen chat never spend it', async () => {
    const breaker = new MemoryFreezeBreaker(1, 60_000);
    store = new MemoryStore();
    deps = { store, mode: 'alert-only', now: () => T0, breaker };
    for (const chat of ['a1', 'a2', 'a3'])
      await judgeEvent(deps, { event: created(chat, ['A', 'B'], 1), at: T0, ref: ref(chat) });
    expect((await breaker.state(T0)).frozenInWindow).toBe(0);
    deps = { store, mode: 'enforce', now: () => T0, breaker };
    const j = await judgeEvent(deps, { event: created('e1', ['A', 'B'], 1), at: T0, ref: ref('e1') });
    expect(freezes(j.outputs)).toHaveLength(1);
    // A second violation in the chat it froze: no new freeze, nothing counted.
    await judgeEvent(deps, { event: added('e1', 'C', 2), at: T0 + 2000, ref: ref('e1b') });
    expect(await breaker.state(T0)).toMatchObject({ open: false, frozenInWindow: 1 });
  });

  it('after a reset, applies the withheld freezes whose violation still stands, and only those', async () => {
    const breaker = new MemoryFreezeBreaker(1, 60_000);
    store = new MemoryStore();
    deps = { store, mode: 'enforce', now: () => T0, breaker };
    for (const chat of ['g1', 'g2', 'g3'])
      await judgeEvent(deps, { event: created(chat, ['A', 'B'], 1), at: T0 + 1000, ref: ref(chat) });
    await judgeEvent(deps, { event: created('h', ['C', 'D'], 1), at: T0 + 1000, ref: ref('h') });
    // The violation in h ends before the reset: D leaves.
    await judgeEvent(deps, { event: removed('h', 'D', 5), at: T0 + 5000, ref: ref('h2') });
    const withheld = await breaker.reset();
    expect(withheld.map((w) => w.chatId)).toEqual(['g2', 'g3', 'h']);
    const applied = [];
    for (const w of withheld) applied.push(await applyWithheldFreeze(deps, w));
    // The breaker is closed with a fresh window and a cap of 1: g2 is frozen, g3 trips it again.
    expect(applied.map((a) => [freezes(a.outputs).map((f) => f.chatId), a.withheld, a.tripped])).toEqual([
      [['g2'], false, false],
      [[], true, true],
      [[], false, false],
    ]);
  });
});

describe('recovery after a crash between decisions', () => {
  it('freezes on replay when the earlier run recorded the episode but died before recording the freeze', async () => {
    const event = created('g', ['A', 'B'], 1);
    const first = await feed(event);
    // Undo the freeze record only: the state a crash between the two writes leaves behind.
    store.decisions.get('g')!.delete('frozen');
    const replayed = await feed(event);
    expect(alerts(replayed).map((a) => a.alertId)).toEqual(alerts(first).map((a) => a.alertId));
    expect(freezes(replayed)).toHaveLength(1);
    expect(freezes(replayed)[0]!.record.alertId).toBe(freezes(first)[0]!.record.alertId);
  });
});

describe('duplicated events', () => {
  it('do not re-send a decision that is still waiting to be written in the same batch', async () => {
    const event = created('g', ['A', 'B'], 1);
    const pending = new Set<string>();
    const ref = { eventId: event.eventId, type: event.type, topic: 't', partition: 0, offset: 0 };
    const first = await judgeEvent(deps, { event, at: T0 + 1000, ref }, { pending });
    for (const o of first.outputs) pending.add(o.record.alertId);
    const again = await judgeEvent(deps, { event, at: T0 + 1000, ref: { ...ref, offset: 1 } }, { pending });
    expect(first.outputs).toHaveLength(2);
    expect(again.outputs).toEqual([]);
  });
});
