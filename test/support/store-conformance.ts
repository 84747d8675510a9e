/**
 * One suite for every implementation of the state ports (src/state/store.ts), so the Redis store,
 * the in-memory store and the prepared chunk cannot drift apart: each verb's real behaviour
 * (merges in any order, compare-and-set refusals, an episode opened once, a freeze in force until
 * lifted, applied marks that only rise, the state marker, the outputs a rebuild learned).
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FactsNeeded } from '../../src/policy/chat-facts.js';
import type { Role, RoleHistory, FactHistory } from '../../src/policy/timeline.js';
import { NEVER, UNREGISTERED, applyRegistration, applySwitch, holdsAt } from '../../src/policy/timeline.js';
import { episodeSent, freezeSent, written } from '../../src/state/decisions.js';
import { applyMembershipSwitch } from '../../src/state/membership.js';
import type { LearningBound, WrittenOutput } from '../../src/state/learned.js';
import type { EpisodeRecord, FreezeRecord } from '../../src/state/records.js';
import type { ChatFactStore, ChatSwitches, DecisionStore, StateStore } from '../../src/state/store.js';

/** What one run of the suite is given, fresh for each test. */
export interface ConformanceSubject {
  /** The store under test; for a prepared chunk, the store it writes through to (another judge's way in). */
  store: StateStore;
  /**
   * Judging's ports once `chats`' switches are written and the facts of `needs` loaded: the store
   * itself, or a chunk prepared with them. Tests replay each switch through `applyMembership`, in
   * order, before reading the chat.
   */
  judging(chats: readonly ChatSwitches[], needs: FactsNeeded): Promise<ChatFactStore & DecisionStore>;
  /** Makes the state marker disappear, as a Redis that restarted empty does. */
  loseState(): Promise<void>;
  /** Removes what the test wrote. */
  cleanup?(): Promise<void>;
}

/** The parts of the suite: facts, judging's view of a chat and its decisions, sent marks, applied marks, learned outputs. */
export type ConformancePart = 'facts' | 'judging' | 'sent' | 'marks' | 'learned';

const T = 1_700_000_000_000;
const episode = (alertId: string, at = T): EpisodeRecord => ({ alertId, openedAt: at, triggerAt: at, sent: false });
const freeze = (alertId: string, at = T): FreezeRecord => ({ alertId, requestedAt: at, triggerAt: at, sent: false });
const fold = (switches: ReadonlyArray<readonly [boolean, number]>): FactHistory =>
  switches.reduce((t, [on, at]) => applySwitch(t, on, at), NEVER);

export function describeStoreConformance(
  name: string,
  make: () => Promise<ConformanceSubject> | ConformanceSubject,
  parts: readonly ConformancePart[] = ['facts', 'judging', 'sent', 'marks', 'learned'],
): void {
  describe(`${name}: state port conformance`, () => {
    let subject: ConformanceSubject;
    let store: StateStore;
    beforeEach(async () => {
      subject = await make();
      store = subject.store;
    });
    afterEach(async () => {
      await subject.cleanup?.();
    });

    /** Judging's ports for one chat's switches, each replayed in order; returns them and each replay's result. */
    const judgeChat = async (chatId: string, switches: ChatSwitches['switches'], needs: FactsNeeded = new Map()) => {
      const view = await subject.judging([{ chatId, switches }], needs);
      // Copied as each is returned: a prepared chunk hands out its chat as kept, which the next replay changes.
      const replayed = [];
      for (const s of switches)
        replayed.push(new Map((await view.applyMembership(chatId, s.userIds, s.joined, s.at)).members));
      return { view, replayed };
    };
    const joinAB = [{ userIds: ['A', 'B'], joined: true, at: T }] as const;

    if (parts.includes('facts'))
      describe('facts', () => {
        it('merges approvals in any order into the history the pure model folds', async () => {
          let run = 0;
          await fc.assert(
            fc.asyncProperty(
              fc.uniqueArray(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 6 }),
              fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
              async (moments, flags) => {
                const child = `child-${++run}`;
                const switches = moments.map((m, i) => [flags[i]!, T + m * 1000] as const);
                for (const [on, at] of switches) await store.applyApproval(child, 'x', on, at);
                const users = await store.readUsers(new Map([[child, ['x']]]));
                // Distinct moments: the order applied does not matter, so fold them in time order.
                const chronological = [...switches].sort((a, b) => a[1] - b[1]);
                expect(users.get(child)!.approvals.get('x')).toEqual(fold(chronological));
              },
            ),
            { numRuns: 25 },
          );
        });

        it('merges registrations in any order, keeping every one', async () => {
          const regs: Array<[Role, number]> = [
            ['adult', 30],
            ['child', 10],
            ['adult', 20],
          ];
          for (const [role, at] of regs) await store.applyRegistration('reg', role, at);
          const expected = [...regs]
            .sort((a, b) => a[1] - b[1])
            .reduce<RoleHistory>((r, [role, at]) => applyRegistration(r, role, at), UNREGISTERED);
          expect((await store.readUsers(new Map([['reg', []]]))).get('reg')!.role).toEqual(expected);
          expect(expected.map((r) => [r.role, r.stamp[0]])).toEqual([
            ['child', 10],
            ['adult', 20],
            ['adult', 30],
          ]);
        });

        it('reads the contacts named (a contact never approved has no entry), or all of them, and an unknown user as unregistered', async () => {
          await store.applyRegistration('kid', 'child', 1);
          await store.applyApproval('kid', 'p', true, 5);
          await store.applyApproval('kid', 'q', false, 6);
          const named = (await store.readUsers(new Map([['kid', ['p', 'nobody']]]))).get('kid')!;
          expect(named.approvals).toEqual(new Map([['p', applySwitch(NEVER, true, 5)]]));
          const all = (await store.readUsers(new Map([['kid', 'all']]))).get('kid')!;
          expect(new Map([...all.approvals].sort())).toEqual(
            new Map([
              ['p', applySwitch(NEVER, true, 5)],
              ['q', applySwitch(NEVER, false, 6)],
            ]),
          );
          expect(all.role).toEqual(applyRegistration(UNREGISTERED, 'child', 1));
          expect((await store.readUsers(new Map([['ghost', 'all']]))).get('ghost')).toEqual({
            role: UNREGISTERED,
            approvals: new Map(),
          });
          expect(await store.readUsers(new Map())).toEqual(new Map());
        });

        it('merges membership switches in any order, and indexes a chat under the users who joined it only', async () => {
          // The leave is consumed before the join it follows.
          const left = await store.applyMembership('m1', ['A'], false, T + 20);
          expect(holdsAt(left.members.get('A') ?? NEVER, T + 25)).toBe(false);
          const joined = await store.applyMembership('m1', ['A', 'B'], true, T + 10);
          expect(holdsAt(joined.members.get('A')!, T + 15)).toBe(true);
          expect(holdsAt(joined.members.get('A')!, T + 25)).toBe(false);
          expect(holdsAt(joined.members.get('B')!, Infinity)).toBe(true);
          expect((await store.readChat('m1')).members).toEqual(joined.members);
          await store.applyMembership('m2', ['C'], false, T);
          expect(await store.chatsOf('A')).toEqual(['m1']);
          expect(await store.chatsOf('C')).toEqual([]);
        });

        it('writes many chats at once, returning each as it was before its switches', async () => {
          await store.applyMembership('b1', ['A'], true, T);
          const chats: ChatSwitches[] = [
            {
              chatId: 'b1',
              switches: [
                { userIds: ['B'], joined: true, at: T + 1 },
                { userIds: ['A'], joined: false, at: T + 2 },
              ],
            },
            { chatId: 'b2', switches: [{ userIds: ['A', 'C'], joined: true, at: T + 3 }] },
          ];
          const before = await store.applyMembershipChanges(chats);
          expect(before.map((c) => [...c.members.keys()].sort())).toEqual([['A'], []]);
          for (const [i, { chatId, switches }] of chats.entries()) {
            for (const s of switches) applyMembershipSwitch(before[i]!.members, s);
            expect((await store.readChat(chatId)).members).toEqual(before[i]!.members);
          }
          expect((await store.chatsOf('C')).sort()).toEqual(['b2']);
          expect((await store.chatsOf('A')).sort()).toEqual(['b1', 'b2']);
          expect(await store.applyMembershipChanges([])).toEqual([]);
        });

        it("reads senders' memberships and their chat's freeze, in the order asked, repeats included", async () => {
          await store.applyMembership('s1', ['A', 'B'], true, T);
          await store.recordFreeze('s1', freeze('f1'));
          const states = await store.readSenders([
            { chatId: 's1', userId: 'B' },
            { chatId: 's2', userId: 'A' },
            { chatId: 's1', userId: 'Z' },
            { chatId: 's1', userId: 'B' },
          ]);
          expect(states.map((s) => holdsAt(s.membership, T))).toEqual([true, false, false, true]);
          expect(states[2]!.membership).toEqual(NEVER);
          expect(states.map((s) => s.frozen?.record.alertId ?? null)).toEqual(['f1', null, 'f1', 'f1']);
          expect(await store.readSender('s1', 'B')).toEqual(states[0]);
          expect(await store.readSenders([])).toEqual([]);
        });
      });

    if (parts.includes('judging'))
      describe('judging a chat', () => {
        it('serves the chat as each switch left it, and the users loaded', async () => {
          await store.applyRegistration('A', 'adult', 1);
          await store.applyApproval('B', 'A', true, 2);
          const switches = [
            { userIds: ['A', 'B'], joined: true, at: T },
            { userIds: ['B'], joined: false, at: T + 10 },
            { userIds: ['C'], joined: true, at: T + 20 },
          ];
          const needs: FactsNeeded = new Map<string, readonly string[] | 'all'>([
            ['A', 'all'],
            ['B', ['A']],
          ]);
          const { view, replayed } = await judgeChat('j1', switches, needs);
          // Each switch's chat, judged as of its moment (later switches may already be written).
          const holding = (m: Map<string, FactHistory>, at: number) =>
            [...m].filter(([, t]) => holdsAt(t, at)).map(([u]) => u);
          expect(replayed.map((m, i) => holding(m, switches[i]!.at).sort())).toEqual([['A', 'B'], ['A'], ['A', 'C']]);
          expect((await view.readChat('j1')).members).toEqual(replayed[2]);
          const users = await view.readUsers(needs);
          expect(users.get('A')!.role).toEqual(applyRegistration(UNREGISTERED, 'adult', 1));
          expect(users.get('B')!.approvals.get('A')).toEqual(applySwitch(NEVER, true, 2));
          // A chat the chunk did not hold is the store's.
          expect((await view.readChat('elsewhere')).members.size).toBe(0);
        });

        it('opens an episode once per pair: a second opening is refused and leaves the first', async () => {
          const { view } = await judgeChat('j2', joinAB);
          expect(await view.openEpisode('j2', 'A\u0000B', episode('first'))).toBe(true);
          expect(await view.openEpisode('j2', 'A\u0000B', episode('second'))).toBe(false);
          expect(await view.openEpisode('j2', 'A\u0000C', episode('other'))).toBe(true);
          for (const read of [view, store]) {
            const episodes = (await read.readChat('j2')).episodes;
            expect(new Map([...episodes].map(([k, e]) => [k, e.record.alertId]))).toEqual(
              new Map([
                ['A\u0000B', 'first'],
                ['A\u0000C', 'other'],
              ]),
            );
            expect(episodes.get('A\u0000B')!.record).toEqual(episode('first'));
          }
        });

        it('closes an episode only as it was read: a stale one is refused, and the chat is read afresh', async () => {
          const { view } = await judgeChat('j3', joinAB);
          await view.openEpisode('j3', 'A\u0000B', episode('e1'));
          const asRead = (await view.readChat('j3')).episodes.get('A\u0000B')!;
          expect(await view.closeEpisode('j3', 'A\u0000B', written({ ...episode('e1'), openedAt: 1 }))).toBe(false);
          // Its alert is marked sent meanwhile: the episode as read is no longer the one stored.
          expect(await store.markSent(episodeSent('j3', 'A\u0000B', asRead))).toBe(true);
          expect(await view.closeEpisode('j3', 'A\u0000B', asRead)).toBe(false);
          const now = (await view.readChat('j3')).episodes.get('A\u0000B')!;
          expect(now.record).toEqual({ ...episode('e1'), sent: true });
          expect(await view.closeEpisode('j3', 'A\u0000B', now)).toBe(true);
          expect((await view.readChat('j3')).episodes.size).toBe(0);
          expect((await store.readChat('j3')).episodes.size).toBe(0);
          expect(await view.closeEpisode('j3', 'A\u0000B', now)).toBe(false);
        });

        it('records a freeze once, keeps it in force until lifted as read, and can freeze again after', async () => {
          const { view } = await judgeChat('j4', joinAB);
          expect(await view.recordFreeze('j4', freeze('f1'))).toBe(true);
          expect(await view.recordFreeze('j4', freeze('f2'))).toBe(false);
          const inForce = (await view.readChat('j4')).frozen!;
          expect(inForce.record).toEqual(freeze('f1'));
          expect((await store.readSender('j4', 'A')).frozen).toEqual(inForce);
          expect(await view.liftFreeze('j4', written(freeze('f2')))).toBe(false);
          expect((await view.readChat('j4')).frozen).toEqual(inForce);
          expect(await view.liftFreeze('j4', inForce)).toBe(true);
          expect((await view.readChat('j4')).frozen).toBeNull();
          expect((await store.readSender('j4', 'A')).frozen).toBeNull();
          expect(await view.liftFreeze('j4', inForce)).toBe(false);
          expect(await view.recordFreeze('j4', freeze('f3'))).toBe(true);
          expect((await view.readChat('j4')).frozen!.record.alertId).toBe('f3');
        });

        it("refuses a decision another judge took since the chat was read, and shows the other judge's", async () => {
          const { view } = await judgeChat('j5', joinAB);
          await view.readChat('j5');
          expect(await store.openEpisode('j5', 'A\u0000B', episode('theirs'))).toBe(true);
          expect(await store.recordFreeze('j5', freeze('theirs'))).toBe(true);
          expect(await view.openEpisode('j5', 'A\u0000B', episode('ours'))).toBe(false);
          expect(await view.recordFreeze('j5', freeze('ours'))).toBe(false);
          const chat = await view.readChat('j5');
          expect(chat.episodes.get('A\u0000B')!.record.alertId).toBe('theirs');
          expect(chat.frozen!.record.alertId).toBe('theirs');
        });
      });

    if (parts.includes('sent'))
      describe('marking decisions sent', () => {
        it('marks an episode and a freeze sent once, from the form they were decided in', async () => {
          await store.openEpisode('k1', 'A\u0000B', episode('e1'));
          await store.recordFreeze('k1', freeze('f1'));
          const decided = await store.readChat('k1');
          const episodeMark = episodeSent('k1', 'A\u0000B', decided.episodes.get('A\u0000B')!);
          const freezeMark = freezeSent('k1', decided.frozen!);
          expect(await store.markSent(episodeMark)).toBe(true);
          expect(await store.markSent(freezeMark)).toBe(true);
          expect(await store.markSent(episodeMark)).toBe(false);
          expect(await store.markSent(freezeMark)).toBe(false);
          const sent = await store.readChat('k1');
          expect(sent.episodes.get('A\u0000B')!.record).toEqual({ ...episode('e1'), sent: true });
          expect(sent.frozen!.record).toEqual({ ...freeze('f1'), sent: true });
          // A freeze lifted before its command was marked: the mark finds nothing and restores nothing.
          expect(await store.liftFreeze('k1', sent.frozen!)).toBe(true);
          expect(await store.markSent(freezeMark)).toBe(false);
          expect((await store.readChat('k1')).frozen).toBeNull();
        });
      });

    if (parts.includes('marks'))
      describe('applied offsets and the state marker', () => {
        it('raises applied marks per partition and never lowers one, beyond 2^53 exactly', async () => {
          expect(await store.appliedOffsets('t')).toEqual(new Map());
          await store.markApplied(
            't',
            new Map([
              [0, '10'],
              [1, '5'],
            ]),
          );
          await store.markApplied(
            't',
            new Map([
              [0, '7'],
              [1, '6'],
              [2, '9007199254740993'],
            ]),
          );
          await store.markApplied('t', new Map());
          expect(await store.appliedOffsets('t')).toEqual(
            new Map([
              [0, 10n],
              [1, 6n],
              [2, 9007199254740993n],
            ]),
          );
          expect(await store.appliedOffsets('other')).toEqual(new Map());
        });

        it('reports lost state until the marker is written again, and writing it twice keeps it', async () => {
          await subject.loseState();
          expect(await store.stateIntact()).toBe(false);
          await store.markStateCreated(T);
          expect(await store.stateIntact()).toBe(true);
          await store.markStateCreated(T + 1);
          expect(await store.stateIntact()).toBe(true);
        });
      });

    if (parts.includes('learned'))
      describe('outputs learned by a rebuild', () => {
        const alertOf = (chatId: string, alertId: string): WrittenOutput => ({ kind: 'alert', chatId, alertId });
        const freezeOf = (chatId: string, alertId: string, partition: number, offset: number, at: number) =>
          ({ kind: 'freeze', chatId, alertId, partition, offset: String(offset), requestedAt: at }) as const;
        const unfreezeOf = (chatId: string, partition: number, offset: number, at: number) =>
          ({ kind: 'unfreeze', chatId, partition, offset: String(offset), at }) as const;

        it('says which outputs are on their topics, in the order asked: by kind, chat and alertId', async () => {
          await store.learnOutputs([alertOf('c1', 'a1'), freezeOf('c1', 'a1', 0, 5, T), alertOf('c2', 'a2')]);
          expect(
            await store.alreadyWritten([
              { kind: 'alert', chatId: 'c1', alertId: 'a1' },
              { kind: 'freeze', chatId: 'c1', alertId: 'a1' },
              { kind: 'freeze', chatId: 'c1', alertId: 'a2' },
              { kind: 'alert', chatId: 'c2', alertId: 'a2' },
              { kind: 'alert', chatId: 'c1', alertId: 'a2' },
              { kind: 'freeze', chatId: 'c2', alertId: 'a2' },
              { kind: 'alert', chatId: 'c3', alertId: 'a1' },
            ]),
          ).toEqual([true, true, false, true, false, false, false]);
          expect(await store.alreadyWritten([])).toEqual([]);
          const none = await store.learnedChat('c3');
          expect([none.freezes.size, none.unfreezes.size]).toEqual([0, 0]);
          expect((await store.learnedChat('c2')).freezes.size).toBe(0);
        });

        it('keeps the last copy of each freeze and the last unfreeze per partition, whatever order and however often they are learned', async () => {
          const outputs: WrittenOutput[] = [
            freezeOf('x', 'f1', 0, 5, T),
            freezeOf('x', 'f1', 0, 9, T + 3),
            freezeOf('x', 'f2', 1, 4, T + 1),
            unfreezeOf('x', 0, 7, T + 1),
            unfreezeOf('x', 0, 3, T + 5),
            unfreezeOf('x', 1, 2, T + 2),
            alertOf('x', 'f1'),
          ];
          let run = 0;
          await fc.assert(
            fc.asyncProperty(
              fc.shuffledSubarray(outputs, { minLength: outputs.length }),
              fc.nat(6),
              async (order, cut) => {
                const chatId = `learned-${++run}`;
                const mine = order.map((o) => ({ ...o, chatId }));
                // In two calls, the first one again: a collection repeated after a crash.
                await store.learnOutputs(mine.slice(0, cut));
                await store.learnOutputs(mine.slice(cut));
                await store.learnOutputs(mine.slice(0, cut));
                const chat = await store.learnedChat(chatId);
                expect(new Map([...chat.freezes].sort())).toEqual(
                  new Map([
                    ['f1', { partition: 0, offset: 9n, requestedAt: T + 3 }],
                    ['f2', { partition: 1, offset: 4n, requestedAt: T + 1 }],
                  ]),
                );
                expect(new Map([...chat.unfreezes].sort())).toEqual(
                  new Map([
                    [0, { offset: 7n, at: T + 5 }],
                    [1, { offset: 2n, at: T + 2 }],
                  ]),
                );
              },
            ),
            { numRuns: 15 },
          );
        });

        it('keeps the bound until it is forgotten, and forgetting drops everything learned, however many chats', async () => {
          expect(await store.learningBound()).toBeNull();
          const bound = (offset: string): LearningBound => ({
            learnedAt: T,
            groups: [{ groupId: 'g', topics: [{ topic: 't', ends: [{ partition: 0, offset }] }] }],
          });
          await store.markLearned(bound('10'));
          await store.markLearned(bound('12'));
          expect(await store.learningBound()).toEqual(bound('12'));
          // More chats than one page of the index.
          const chats = Array.from({ length: 1234 }, (_, i) => `many-${i}`);
          await store.learnOutputs(chats.map((c) => alertOf(c, 'a')));
          await store.learnOutputs([freezeOf('many-1', 'a', 0, 1, T), unfreezeOf('many-1', 0, 2, T)]);
          const asked = chats.map((chatId) => ({ kind: 'alert', chatId, alertId: 'a' }) as const);
          expect((await store.alreadyWritten(asked)).every(Boolean)).toBe(true);
          await store.forgetLearned();
          expect(await store.learningBound()).toBeNull();
          expect((await store.alreadyWritten(asked)).some(Boolean)).toBe(false);
          const chat = await store.learnedChat('many-1');
          expect([chat.freezes.size, chat.unfreezes.size]).toEqual([0, 0]);
          await store.forgetLearned();
          expect(await store.learningBound()).toBeNull();
        });
      });
  });
}
