/** The one-pass judgement of a chat at two moments agrees with judging each moment on its own. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ChatFacts, UserFacts } from '../../src/policy/chat-facts.js';
import { violationsAt, violationsThenAndNow } from '../../src/policy/chat-facts.js';
import type { Scope } from '../../src/policy/pairing.js';
import type { RoleHistory, Toggle } from '../../src/policy/timeline.js';
import { NEVER, UNREGISTERED, applyRegistration, applySwitch } from '../../src/policy/timeline.js';

const moment = fc.integer({ min: 1, max: 12 });
const switches = fc.array(fc.tuple(fc.boolean(), moment), { maxLength: 4 });
const toggleOf = (s: Array<[boolean, number]>): Toggle => s.reduce((t, [on, at]) => applySwitch(t, on, at), NEVER);

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

describe('judging a chat as of the event and as of now', () => {
  it('in one pass, finds exactly what violationsAt finds at each moment, in the same order', () => {
    fc.assert(
      fc.property(chatWorld, (w) => {
        const members = new Map<string, Toggle>();
        w.users.forEach((u, i) => members.set(u, toggleOf(w.members[i]!)));
        const users = new Map<string, UserFacts>();
        w.users.forEach((u, i) => {
          const role = w.roles[i]!.reduce((r: RoleHistory, [role, at]) => applyRegistration(r, role, at), UNREGISTERED);
          const approvals = new Map<string, Toggle>();
          for (const [c, x, s] of w.approvals) if (c === i) approvals.set(w.users[x]!, toggleOf(s));
          users.set(u, { role, approvals });
        });
        const chat: ChatFacts = { members, users };
        const both = violationsThenAndNow(chat, w.scope, w.at, w.extra);
        expect(both.atEvent).toEqual(violationsAt(chat, w.scope, w.at, w.extra));
        expect(both.current).toEqual(violationsAt(chat, w.scope, Infinity));
      }),
      { numRuns: 2000 },
    );
  });
});
