import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Facts, Scope } from '../../src/policy/pairing.js';
import { judgePair, pairKey, parsePairKey, unapprovedPairings } from '../../src/policy/pairing.js';

function factsOf(adults: Iterable<string>, approvals: Iterable<[string, string]>): Facts {
  const a = new Set(adults);
  const e = new Set([...approvals].map(([c, x]) => `${c}>${x}`));
  return { role: (u) => (a.has(u) ? 'adult' : 'child'), approved: (c, x) => e.has(`${c}>${x}`) };
}

describe('the pairing rule', () => {
  it('catches the 2019 group-chat flaw: A approved B and C, but B never approved C', () => {
    const facts = factsOf(
      [],
      [
        ['A', 'B'],
        ['B', 'A'],
        ['A', 'C'],
        ['C', 'A'],
      ],
    );
    expect(unapprovedPairings(['A', 'B', 'C'], { kind: 'all' }, facts)).toEqual([
      {
        pair: ['B', 'C'],
        missing: [
          { childId: 'B', contactId: 'C' },
          { childId: 'C', contactId: 'B' },
        ],
      },
    ]);
  });

  it('reports only the absent direction when one child approved the other', () => {
    const facts = factsOf([], [['B', 'C']]);
    expect(judgePair('C', 'B', facts)).toEqual({ pair: ['B', 'C'], missing: [{ childId: 'C', contactId: 'B' }] });
  });

  it('lets two adults talk, and an adult only with a child who approved them', () => {
    const facts = factsOf(['M', 'N'], [['K', 'M']]);
    expect(judgePair('M', 'N', facts)).toBeNull();
    expect(judgePair('K', 'M', facts)).toBeNull();
    expect(judgePair('K', 'N', facts)).toEqual({ pair: ['K', 'N'], missing: [{ childId: 'K', contactId: 'N' }] });
  });

  it('treats an unknown user as a child (fail closed)', () => {
    const facts: Facts = { role: () => 'child', approved: () => false };
    expect(judgePair('x', 'y', facts)?.missing).toHaveLength(2);
  });

  it('never pairs a user with themselves, and counts duplicate members once', () => {
    const facts = factsOf([], []);
    expect(judgePair('A', 'A', facts)).toBeNull();
    expect(unapprovedPairings(['A', 'A', 'B'], { kind: 'all' }, facts)).toHaveLength(1);
  });

  it('judges only the pairs in scope', () => {
    const facts = factsOf([], []);
    const members = ['A', 'B', 'C', 'D'];
    expect(unapprovedPairings(members, { kind: 'user', userId: 'C' }, facts).map((p) => p.pair)).toEqual([
      ['A', 'C'],
      ['B', 'C'],
      ['C', 'D'],
    ]);
    expect(unapprovedPairings(members, { kind: 'pair', a: 'D', b: 'B' }, facts).map((p) => p.pair)).toEqual([
      ['B', 'D'],
    ]);
    expect(unapprovedPairings(members, { kind: 'pair', a: 'D', b: 'Z' }, facts)).toEqual([]);
    expect(unapprovedPairings(members, { kind: 'user', userId: 'Z' }, facts)).toEqual([]);
  });

  it('round-trips pair keys', () => {
    expect(parsePairKey(pairKey(['a:b', 'c d']))).toEqual(['a:b', 'c d']);
  });
});

/** Random users, roles, directed approvals and chats. */
const world = fc.integer({ min: 2, max: 9 }).chain((n) => {
  const users = Array.from({ length: n }, (_, i) => `u${i}`);
  return fc.record({
    users: fc.constant(users),
    adults: fc.subarray(users),
    approvals: fc.array(fc.tuple(fc.constantFrom(...users), fc.constantFrom(...users)), { maxLength: n * n }),
    members: fc.shuffledSubarray(users, { minLength: 0 }),
  });
});

/** The rule exactly as contract §1 words it, over all ordered pairs, with no shortcuts. */
function oracle(members: string[], adults: string[], approvals: Array<[string, string]>): Set<string> {
  const isAdult = (u: string) => adults.includes(u);
  const approved = (c: string, x: string) => approvals.some(([a, b]) => a === c && b === x);
  const bad = new Set<string>();
  for (const a of members) {
    for (const b of members) {
      if (a === b) continue;
      const allowed = (isAdult(a) || approved(a, b)) && (isAdult(b) || approved(b, a));
      if (!allowed) bad.add(pairKey(a < b ? [a, b] : [b, a]));
    }
  }
  return bad;
}

describe('the pairing rule against a brute-force oracle', () => {
  it('finds exactly the unapproved pairs of a chat, with every missing direction', () => {
    fc.assert(
      fc.property(world, ({ adults, approvals, members }) => {
        const facts = factsOf(adults, approvals);
        const found = unapprovedPairings(members, { kind: 'all' }, facts);
        expect(new Set(found.map((p) => pairKey(p.pair)))).toEqual(oracle(members, adults, approvals));
        for (const p of found) {
          for (const m of p.missing) {
            expect(adults).not.toContain(m.childId);
            expect(approvals.some(([c, x]) => c === m.childId && x === m.contactId)).toBe(false);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('judging each newcomer against the members already there finds every unapproved pair of the final chat', () => {
    fc.assert(
      fc.property(world, ({ adults, approvals, members }) => {
        const facts = factsOf(adults, approvals);
        const seen = new Set<string>();
        const present: string[] = [];
        for (const m of members) {
          present.push(m);
          const scope: Scope = { kind: 'user', userId: m };
          for (const p of unapprovedPairings(present, scope, facts)) seen.add(pairKey(p.pair));
        }
        expect(seen).toEqual(oracle(members, adults, approvals));
      }),
      { numRuns: 500 },
    );
  });

  it('judging one pair after a revocation agrees with re-judging the whole chat', () => {
    fc.assert(
      fc.property(world, fc.nat(), ({ adults, approvals, members }, pick) => {
        fc.pre(members.length >= 2);
        const a = members[pick % members.length]!;
        const b = members[(pick + 1) % members.length]!;
        const after = approvals.filter(([c, x]) => !(c === a && x === b));
        const facts = factsOf(adults, after);
        const pairOnly = unapprovedPairings(members, { kind: 'pair', a, b }, facts).map((p) => pairKey(p.pair));
        const whole = oracle(members, adults, after);
        expect(pairOnly.length === 1).toBe(whole.has(pairKey(a < b ? [a, b] : [b, a])));
      }),
      { numRuns: 300 },
    );
  });
});
