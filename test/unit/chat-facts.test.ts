/** The one-pass judgement of a chat at two moments agrees with judging each moment on its own. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ChatFacts, UserFacts } from '../../src/policy/chat-facts.js';
import { latestStart, violationsAt, violationsAtTwo } from '../../src/policy/chat-facts.js';
import type { Scope } from '../../src/policy/pairing.js';
import type { RoleHistory, FactHistory } from '../../src/policy/timeline.js';
import { NEVER, UNREGISTERED, applyRegistration, applySwitch } from '../../src/policy/timeline.js';

const moment = fc.integer({ min: 1, max: 12 });
const switches = fc.array(fc.tuple(fc.boolean(), moment), { maxLength: 4 });
const toggleOf = (s: Array<[boolean, number]>): FactHistory => s.reduce((t, [on, at]) => applySwitch(t, on, at), NEVER);

/** A chat of up to 7 users: membership histories, role histories and approval histories at moments 1..12. */
const chatWorld = fc.integer({ min: 1, max: 7 }).chain((n) => {
  const users = Array.from({ length: n }, (_, i) => `u${i}`);
  return fc.record({
    users: fc.constant(users),
    members: fc.array(switches, { minLength: n, maxLength: n }),
    roles: fc.array(fc.array(fc.tuple(fc.constantFrom('child' as const, 'adult' as const), moment), { maxLength: 2 }), {
      minLength: n,
      maxLength: n,
    }),
    approvals: fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1), switches), { maxLength: n * n }),
    extra: fc.subarray([...users, 'outsider']),
    at: moment,
    scope: fc.oneof(
      fc.constant<Scope>({ kind: 'all' }),
      fc.constantFrom(...users, 'outsider').map((userId): Scope => ({ kind: 'user', userId })),
      fc
        .tuple(fc.constantFrom(...users), fc.constantFrom(...users, 'outsider'))
        .map(([a, b]): Scope => ({ kind: 'pair', a, b })),
    ),
  });
});

/** The world's chat: histories folded from its switches. */
function chatOf(w: {
  users: string[];
  members: Array<Array<[boolean, number]>>;
  roles: Array<Array<['child' | 'adult', number]>>;
  approvals: Array<[number, number, Array<[boolean, number]>]>;
}): ChatFacts {
  const members = new Map<string, FactHistory>();
  w.users.forEach((u, i) => members.set(u, toggleOf(w.members[i]!)));
  const users = new Map<string, UserFacts>();
  w.users.forEach((u, i) => {
    const role = w.roles[i]!.reduce((r: RoleHistory, [role, at]) => applyRegistration(r, role, at), UNREGISTERED);
    const approvals = new Map<string, FactHistory>();
    for (const [c, x, s] of w.approvals) if (c === i) approvals.set(w.users[x]!, toggleOf(s));
    users.set(u, { role, approvals });
  });
  return { members, users };
}

describe('judging a chat at two moments', () => {
  it('in one pass, finds exactly what violationsAt finds at each moment, in the same order', () => {
    fc.assert(
      fc.property(chatWorld, (w) => {
        const chat = chatOf(w);
        const thenAndNow = violationsAtTwo(chat, w.scope, [{ at: w.at }, { at: Infinity }], w.extra);
        expect(thenAndNow.first).toEqual(violationsAt(chat, w.scope, w.at, w.extra));
        expect(thenAndNow.second).toEqual(violationsAt(chat, w.scope, Infinity));
        const beforeAndAt = violationsAtTwo(chat, w.scope, [{ at: w.at, before: true }, { at: w.at }]);
        expect(beforeAndAt.first).toEqual(violationsAt(chat, w.scope, { at: w.at, before: true }));
        expect(beforeAndAt.second).toEqual(violationsAt(chat, w.scope, w.at));
      }),
      { numRuns: 2000 },
    );
  });

  it("finds when a pair's latest violation began, as a moment-by-moment walk finds it", () => {
    fc.assert(
      fc.property(chatWorld, (w) => {
        if (w.users.length < 2) return;
        const chat = chatOf(w);
        const pair: [string, string] = [w.users[0]!, w.users[1]!];
        const violates = (at: number) => violationsAt(chat, { kind: 'pair', a: pair[0], b: pair[1] }, at).length > 0;
        // Moments are whole numbers 1..12, all at rank 0: walking them in order finds every change.
        let began: number | null = null;
        for (let at = 1; at <= 12; at++) if (violates(at) && !violates(at - 1)) began = at;
        const expected = violates(Infinity) ? began : null;
        expect(latestStart(chat, pair)?.[0] ?? null).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });
});
