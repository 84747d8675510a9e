import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AuditedChat } from '../../src/audit/episodes.js';
import { HistoryJudge } from '../../src/audit/history-judge.js';
import type { InputEvent } from '../../src/events/schema.js';
import { World } from '../../src/synthetic/world.js';
import { T0, added, approve, created, friends, iso, message, reg, removed, revoke } from '../support/events.js';

function audit(events: Array<InputEvent | InputEvent[]>, window = {}, frozen: string[] = []): AuditedChat[] {
  const j = new HistoryJudge();
  let offset = 0;
  for (const e of events.flat())
    j.apply({
      event: e,
      at: Date.parse(e.occurredAt),
      ref: { eventId: e.eventId, type: e.type, topic: 't', partition: 0, offset: offset++ },
    });
  for (const c of frozen) j.freeze(c, T0);
  return j.report(window);
}

describe('the history judge', () => {
  it('finds the 2019 flaw: one pair, its first and last offending events, its duration', () => {
    const create = created('g', ['A', 'B', 'C'], 10);
    const m1 = message('g', 'B', 20);
    const fix = friends('B', 'C', 70);
    const after = message('g', 'C', 80);
    const [chat, ...rest] = audit([friends('A', 'B', 0), friends('A', 'C', 0), create, m1, fix, after], {}, ['g']);
    expect(rest).toEqual([]);
    expect(chat).toMatchObject({
      chatId: 'g',
      firstOffending: { eventId: create.eventId, type: 'chat.created', occurredAt: iso(10), topic: 't', partition: 0 },
      // The approval that ends the violation is not offending; the message after it is not either.
      lastOffending: { eventId: m1.eventId, type: 'message.sent' },
      violationMs: 60_000,
      ongoing: false,
      frozen: true,
    });
    expect(chat!.pairs).toEqual([
      {
        pair: ['B', 'C'],
        episodes: [
          expect.objectContaining({
            start: iso(10),
            end: iso(70),
            ongoing: false,
            durationMs: 60_000,
            missing: [
              { childId: 'B', contactId: 'C' },
              { childId: 'C', contactId: 'B' },
            ],
            closed: expect.objectContaining({ eventId: fix[1]!.eventId }),
          }),
        ],
      },
    ]);
  });

  it('reports an episode still open at the end as ongoing, up to the last event of the history', () => {
    const [chat] = audit([created('g', ['A', 'B'], 0), created('h', ['M'], 100)]);
    expect(chat).toMatchObject({ chatId: 'g', ongoing: true, violationMs: 100_000 });
    expect(chat!.pairs[0]!.episodes[0]).toMatchObject({ end: null, ongoing: true, durationMs: 100_000, closed: null });
  });

  it('ends an episode when a member leaves, and starts a new one when they come back', () => {
    const [chat] = audit([
      created('g', ['A', 'B'], 0),
      removed('g', 'B', 10),
      added('g', 'B', 30),
      removed('g', 'A', 35),
    ]);
    expect(chat!.pairs[0]!.episodes.map((e) => [e.start, e.end])).toEqual([
      [iso(0), iso(10)],
      [iso(30), iso(35)],
    ]);
    expect(chat!.violationMs).toBe(15_000);
    expect(chat!.lastOffending.type).toBe('member.added');
  });

  it('counts time in violation once when several pairs overlap', () => {
    const [chat] = audit([
      friends('A', 'B', 0),
      created('g', ['A', 'B'], 0),
      added('g', 'C', 10),
      added('g', 'D', 20),
      removed('g', 'C', 40),
      removed('g', 'D', 50),
    ]);
    expect(chat!.pairs.map((p) => p.pair)).toEqual([
      ['A', 'C'],
      ['A', 'D'],
      ['B', 'C'],
      ['B', 'D'],
      ['C', 'D'],
    ]);
    expect(chat!.violationMs).toBe(40_000);
  });

  it('opens an episode in every chat holding both users when an approval is revoked', () => {
    const chats = audit([
      friends('A', 'B', 0),
      created('g1', ['A', 'B'], 1),
      created('g2', ['A', 'B'], 2),
      created('g3', ['A'], 3),
      revoke('A', 'B', 5),
      approve('A', 'B', 9),
    ]);
    expect(
      chats.map((c) => [c.chatId, c.firstOffending.type, c.violationMs, c.pairs[0]!.episodes[0]!.missing]),
    ).toEqual([
      ['g1', 'contact.revoked', 4_000, [{ childId: 'A', contactId: 'B' }]],
      ['g2', 'contact.revoked', 4_000, [{ childId: 'A', contactId: 'B' }]],
    ]);
  });

  it('treats a message sender who is not a member as joining, and keeps them a member', () => {
    const [chat] = audit([
      friends('A', 'B', 0),
      created('g', ['A', 'B'], 1),
      message('g', 'S', 5),
      message('g', 'S', 8),
      removed('g', 'S', 9),
    ]);
    expect(chat!.pairs.map((p) => [p.pair, p.episodes[0]!.opened.type, p.episodes[0]!.durationMs])).toEqual([
      [['A', 'S'], 'message.sent', 4_000],
      [['B', 'S'], 'message.sent', 4_000],
    ]);
    expect(chat!.lastOffending.occurredAt).toBe(iso(8));
  });

  it('judges role changes: an adult is allowed with a child who approved them, not once they become a child', () => {
    const chats = audit([
      reg('M', 'adult', 0),
      approve('K', 'M', 0),
      created('g', ['K', 'M'], 1),
      reg('M', 'child', 5),
      reg('M', 'adult', 7),
    ]);
    expect(chats.map((c) => [c.chatId, c.firstOffending.type, c.violationMs])).toEqual([
      ['g', 'user.registered', 2_000],
    ]);
  });

  it('treats an unregistered user as a child and two adults as always allowed', () => {
    expect(audit([reg('M', 'adult', 0), reg('N', 'adult', 0), created('adults', ['M', 'N'], 1)])).toEqual([]);
    expect(audit([reg('M', 'adult', 0), created('g', ['M', 'X'], 1)])[0]!.pairs[0]!.episodes[0]!.missing).toEqual([
      { childId: 'X', contactId: 'M' },
    ]);
  });

  it('reports only chats in violation at some moment of the window, with unclipped times', () => {
    const history = [
      created('early', ['A', 'B'], 0),
      removed('early', 'B', 10),
      created('late', ['C', 'D'], 100),
      created('across', ['E', 'F'], 5),
      created('end', ['G'], 200),
    ];
    const names = (w: object) => audit(history, w).map((c) => c.chatId);
    expect(names({})).toEqual(['early', 'across', 'late']);
    expect(names({ since: T0 + 10_000 })).toEqual(['across', 'late']);
    expect(names({ until: T0 + 50_000 })).toEqual(['early', 'across']);
    expect(names({ since: T0 + 20_000, until: T0 + 50_000 })).toEqual(['across']);
    expect(audit(history, { since: T0 + 20_000 })[0]!.firstOffending.occurredAt).toBe(iso(5));
  });

  it('agrees with the brute-force world model on random histories', () => {
    const users = ['A', 'B', 'C', 'D', 'M'];
    const chats = ['g', 'h'];
    const u = fc.constantFrom(...users);
    const c = fc.constantFrom(...chats);
    const step = fc.oneof(
      fc.tuple(fc.constant('reg'), u, fc.constantFrom('child', 'adult')),
      fc.tuple(fc.constant('approve'), u, u),
      fc.tuple(fc.constant('revoke'), u, u),
      fc.tuple(fc.constant('create'), c, fc.uniqueArray(u, { minLength: 1, maxLength: 4 })),
      fc.tuple(fc.constant('add'), c, u),
      fc.tuple(fc.constant('remove'), c, u),
      fc.tuple(fc.constant('message'), c, u),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const events: InputEvent[] = steps.map((s, i) => {
          const [kind, x, y] = s as [string, string, string & string[]];
          switch (kind) {
            case 'reg':
              return reg(x, y as 'child' | 'adult', i);
            case 'approve':
              return approve(x, y, i);
            case 'revoke':
              return revoke(x, y, i);
            case 'create':
              return created(x, y as unknown as string[], i);
            case 'add':
              return added(x, y, i);
            case 'remove':
              return removed(x, y, i);
            default:
              return message(x, y, i);
          }
        });
        const world = new World();
        for (const e of events) world.apply(e as never);
        const expected = world.answers().map((a) => ({
          chatId: a.chatId,
          pairs: a.pairs.map((p) => [
            p.pair,
            p.episodes.map((e) => [e.start, e.end, e.durationMs, e.openedBy, e.closedBy]),
          ]),
          first: a.firstOffendingEventId,
          last: a.lastOffendingEventId,
          violationMs: a.violationMs,
          ongoing: a.ongoing,
        }));
        const actual = audit(events).map((a) => ({
          chatId: a.chatId,
          pairs: a.pairs.map((p) => [
            p.pair,
            p.episodes.map((e) => [e.start, e.end, e.durationMs, e.opened.eventId, e.closed?.eventId ?? null]),
          ]),
          first: a.firstOffending.eventId,
          last: a.lastOffending.eventId,
          violationMs: a.violationMs,
          ongoing: a.ongoing,
        }));
        expect(actual.sort((a, b) => (a.chatId < b.chatId ? -1 : 1))).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});
