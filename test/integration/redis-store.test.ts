/** The Lua merges in Redis agree with the pure model in src/policy/timeline.ts. */
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FactHistory } from '../../src/policy/timeline.js';
import { NEVER, UNREGISTERED, applyRegistration, applySwitch } from '../../src/policy/timeline.js';
import { decodeRole, decodeHistory } from '../../src/state/codec.js';
import { freezeSent } from '../../src/state/decisions.js';
import { applyMembershipSwitch } from '../../src/state/membership.js';
import { RedisStateStore } from '../../src/state/redis-store.js';
import { REDIS_URL, deleteKeys, keysWithPrefix } from '../support/harness.js';
import { describeStoreConformance } from '../support/store-conformance.js';

const prefix = `pgtest:store-${process.pid}:`;
let redis: Redis;
let store: RedisStateStore;
const timed: string[] = [];

beforeAll(() => {
  redis = new Redis(REDIS_URL);
  store = new RedisStateStore(redis, prefix, (operation, seconds) => {
    expect(seconds).toBeGreaterThanOrEqual(0);
    timed.push(operation);
  });
});
afterAll(async () => {
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

let n = 0;
/** Moments of switches: mostly real ones, some at or before 1970 (which the merges ignore or keep alike). */
const moment = fc.oneof(
  fc.integer({ min: 1, max: 40 }).map((s) => 1_700_000_000_000 + s * 1000),
  fc.constantFrom(0, -1000),
);

describe('Redis state', () => {
  it('writes a chunk of membership switches exactly as the pure model replays them, and returns each chat as it was before', async () => {
    const users = ['u1', 'u2', 'u3'];
    const switchOf = fc.record({ userIds: fc.subarray(users, { minLength: 1 }), joined: fc.boolean(), at: moment });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(switchOf, { maxLength: 4 }), { minLength: 1, maxLength: 3 }),
        async (chunks) => {
          const chatId = `chat-${++n}`;
          const model = new Map<string, FactHistory>();
          for (const switches of chunks) {
            const [before] = await store.applyMembershipChanges([{ chatId, switches }]);
            expect(before!.members).toEqual(model);
            for (const s of switches) applyMembershipSwitch(model, s);
            const stored = new Map(
              Object.entries(await redis.hgetall(store.keys.members(chatId))).map(([u, v]) => [u, decodeHistory(v)]),
            );
            expect(stored).toEqual(model);
            for (const u of new Set(switches.filter((s) => s.joined).flatMap((s) => s.userIds)))
              expect(await store.chatsOf(u)).toContain(chatId);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('merges approval switches exactly as the pure model does', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.boolean(), moment), { maxLength: 8 }), async (switches) => {
        const child = `child-${++n}`;
        for (const [on, at] of switches) await store.applyApproval(child, 'x', on, at);
        const stored = decodeHistory(await redis.hget(store.keys.user(child), 'a:x'));
        expect(stored).toEqual(switches.reduce((t, [on, at]) => applySwitch(t, on, at), NEVER));
      }),
      { numRuns: 60 },
    );
  });

  it('merges into a value of the form written before histories as into the switches it remembered', async () => {
    const child = `legacy-${++n}`;
    await redis.hset(store.keys.user(child), 'a:x', '10,20,0', 'r', 'child,20,adult,10');
    await store.applyApproval(child, 'x', true, 15);
    await store.applyRegistration(child, 'child', 5);
    expect(decodeHistory(await redis.hget(store.keys.user(child), 'a:x'))).toEqual([
      { stamp: [10, 0, 0, 0], on: true },
      { stamp: [15, 0, 0, 0], on: true },
      { stamp: [20, 0, 0, 0], on: false },
    ]);
    expect(decodeRole(await redis.hget(store.keys.user(child), 'r'))).toEqual([
      { stamp: [5, 0, 0, 0], role: 'child' },
      { stamp: [10, 0, 0, 0], role: 'adult' },
      { stamp: [20, 0, 0, 0], role: 'child' },
    ]);
  });

  it('merges registrations exactly as the pure model does', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom('child' as const, 'adult' as const), fc.integer({ min: 1, max: 20 })), {
          maxLength: 6,
        }),
        async (regs) => {
          const user = `user-${++n}`;
          for (const [role, at] of regs) await store.applyRegistration(user, role, at);
          const stored = decodeRole(await redis.hget(store.keys.user(user), 'r'));
          expect(stored).toEqual(regs.reduce((r, [role, at]) => applyRegistration(r, role, at), UNREGISTERED));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('reads a whole user back: the role and every approval, whatever the contact ids hold', async () => {
    const contacts = ['plain', 'a:colon', 'ünïcödé-kid', 'with space', 'r'];
    await store.applyRegistration('whole-user', 'child', 5);
    for (const [i, c] of contacts.entries()) await store.applyApproval('whole-user', c, i !== 2, 10 + i);
    const users = await store.readUsers(
      new Map([
        ['whole-user', 'all'],
        ['nobody', 'all'],
      ]),
    );
    const whole = users.get('whole-user')!;
    expect(whole.role).toEqual(applyRegistration(UNREGISTERED, 'child', 5));
    expect(new Map([...whole.approvals].sort())).toEqual(
      new Map(contacts.map((c, i) => [c, applySwitch(NEVER, i !== 2, 10 + i)] as const).sort()),
    );
    expect(users.get('nobody')).toEqual({ role: UNREGISTERED, approvals: new Map() });
  });

  it('keeps every key of one user or chat in one hash slot', () => {
    const slotTag = (k: string) => k.slice(k.indexOf('{') + 1, k.indexOf('}'));
    expect(slotTag(store.keys.user('u1'))).toBe(slotTag(store.keys.userChats('u1')));
    expect(slotTag(store.keys.members('c1'))).toBe(slotTag(store.keys.episodes('c1')));
  });

  it('never lowers an applied-offset mark', async () => {
    await store.markApplied(
      'topic-a',
      new Map([
        [0, '10'],
        [1, '5'],
      ]),
    );
    await store.markApplied(
      'topic-a',
      new Map([
        [0, '7'],
        [1, '6'],
      ]),
    );
    expect(await store.appliedOffsets('topic-a')).toEqual(
      new Map([
        [0, 10n],
        [1, 6n],
      ]),
    );
  });

  it('opens an episode once and swaps decisions only from the value it read', async () => {
    const rec = { alertId: 'a1', openedAt: 1, triggerAt: 1, sent: false };
    expect(await store.openEpisode('chat-x', 'p', rec)).toBe(true);
    expect(await store.openEpisode('chat-x', 'p', { ...rec, alertId: 'a2' })).toBe(false);
    const [ep] = (await store.readChat('chat-x')).episodes.values();
    expect(ep!.record.alertId).toBe('a1');
    expect(await store.closeEpisode('chat-x', 'p', { raw: 'stale', record: ep!.record })).toBe(false);
    expect(await store.closeEpisode('chat-x', 'p', ep!)).toBe(true);
    expect((await store.readChat('chat-x')).episodes.size).toBe(0);
  });

  it('counts frozen chats exactly: a freeze recorded twice, marked sent or lifted with a stale value changes nothing', async () => {
    const before = await store.frozenChats();
    const rec = { alertId: 'f1', requestedAt: 1, triggerAt: 1, sent: false };
    expect(await store.recordFreeze('chat-f', rec)).toBe(true);
    expect(await store.recordFreeze('chat-f', { ...rec, alertId: 'f2' })).toBe(false);
    expect(await store.recordFreeze('chat-g', rec)).toBe(true);
    expect(await store.frozenChats()).toBe(before + 2);
    const frozen = (await store.readChat('chat-f')).frozen!;
    expect(await store.markSent(freezeSent('chat-f', frozen))).toBe(true);
    const sent = (await store.readChat('chat-f')).frozen!;
    expect(await store.frozenChats()).toBe(before + 2);
    expect(await store.liftFreeze('chat-f', frozen)).toBe(false);
    expect(await store.frozenChats()).toBe(before + 2);
    expect(await store.liftFreeze('chat-f', sent)).toBe(true);
    expect(await store.frozenChats()).toBe(before + 1);
    expect(await redis.smembers(store.keys.frozenChats())).toEqual(['chat-g']);
  });

  it('repairs the frozen-chats index when a step was lost to a crash, by repeating the interrupted operation', async () => {
    const index = store.keys.frozenChats();
    const rec = { alertId: 'r1', requestedAt: 1, triggerAt: 1, sent: false };
    // Died after recording the freeze, before indexing it: marking the re-sent freeze as sent indexes it.
    await redis.hsetnx(store.keys.episodes('chat-r'), 'frozen', JSON.stringify(rec));
    expect(await redis.sismember(index, 'chat-r')).toBe(0);
    const frozen = (await store.readChat('chat-r')).frozen!;
    expect(await store.markSent(freezeSent('chat-r', frozen))).toBe(true);
    const sent = (await store.readChat('chat-r')).frozen!;
    expect(await redis.sismember(index, 'chat-r')).toBe(1);
    // Died after taking it out of the index, before lifting the freeze: the redelivered unfreeze finishes both.
    await redis.srem(index, 'chat-r');
    expect(await store.liftFreeze('chat-r', sent)).toBe(true);
    expect(await redis.sismember(index, 'chat-r')).toBe(0);
    expect((await store.readChat('chat-r')).frozen).toBeNull();
    // An unfreeze that does not match (the freeze changed since it was read) leaves the chat indexed.
    expect(await store.recordFreeze('chat-r', rec)).toBe(true);
    expect(await store.liftFreeze('chat-r', sent)).toBe(false);
    expect(await redis.sismember(index, 'chat-r')).toBe(1);
  });

  it('marks a freeze sent (putting back a lost index entry), and lifts only the freeze as last read', async () => {
    const rec = { alertId: 's1', requestedAt: 1, triggerAt: 1, sent: false };
    const index = store.keys.frozenChats();
    expect(await store.recordFreeze('chat-s', rec)).toBe(true);
    const frozen = (await store.readChat('chat-s')).frozen!;
    const mark = freezeSent('chat-s', frozen);
    await redis.srem(index, 'chat-s');
    expect(await store.markSent(mark)).toBe(true);
    expect(await redis.sismember(index, 'chat-s')).toBe(1);
    expect(await store.liftFreeze('chat-s', frozen)).toBe(false);
    expect(await redis.sismember(index, 'chat-s')).toBe(1);
    expect(await store.liftFreeze('chat-s', (await store.readChat('chat-s')).frozen!)).toBe(true);
    expect(await redis.sismember(index, 'chat-s')).toBe(0);
    await store.openEpisode('chat-s', 'p', { alertId: 'e', openedAt: 1, triggerAt: 1, sent: false });
    const [ep] = (await store.readChat('chat-s')).episodes.values();
    expect(await store.closeEpisode('chat-s', 'p', ep!)).toBe(true);
    expect((await store.readChat('chat-s')).episodes.size).toBe(0);
  });

  it('times every round trip under its operation name only', () => {
    expect(new Set(timed)).toEqual(
      new Set([
        'applyMembershipChanges',
        'chatsOf',
        'applyApproval',
        'applyRegistration',
        'readUsers',
        'markApplied',
        // appliedOffsets reads the positions, and is timed as that read.
        'appliedPositions',
        'openEpisode',
        'readChat',
        'swapDecision',
        'recordFreeze',
        'frozenChats',
      ]),
    );
  });
});

describe('Redis: the outputs a rebuild learned', () => {
  it("keeps them in the chat's slot beside an index and the bound, and forgetting leaves no key of theirs", async () => {
    const learnedPrefix = `pgtest:learned-${process.pid}:`;
    const learning = new RedisStateStore(redis, learnedPrefix);
    try {
      await learning.applyMembership('kept', ['A'], true, 1);
      await learning.learnOutputs([
        { kind: 'alert', chatId: 'c1', alertId: 'a1' },
        { kind: 'freeze', chatId: 'c1', alertId: 'a1', partition: 2, offset: '40', requestedAt: 5 },
        { kind: 'unfreeze', chatId: 'c2', partition: 1, offset: '7', at: 9 },
      ]);
      await learning.markLearned({ learnedAt: 1, groups: [] });
      const k = learning.keys;
      expect((await keysWithPrefix(redis, learnedPrefix)).sort()).toEqual(
        [
          k.learnedChat('c1'),
          k.learnedChat('c2'),
          k.learnedChats(),
          k.learning(),
          ...Object.values(stateKeys(k)),
        ].sort(),
      );
      expect(k.learnedChat('c1')).toContain('{c1}');
      expect((await redis.smembers(k.learnedChats())).sort()).toEqual(['c1', 'c2']);
      await learning.forgetLearned();
      expect((await keysWithPrefix(redis, learnedPrefix)).sort()).toEqual(Object.values(stateKeys(k)).sort());
    } finally {
      await deleteKeys(redis, learnedPrefix);
    }
  });
});

/** The keys `applyMembership('kept', ['A'], …)` writes: state that forgetting the learned record keeps. */
function stateKeys(k: RedisStateStore['keys']) {
  return { members: k.members('kept'), chats: k.userChats('A') };
}

let suite = 0;
describeStoreConformance('Redis store', () => {
  const keyPrefix = `pgtest:conformance-${process.pid}-${++suite}:`;
  const subject = new RedisStateStore(redis, keyPrefix);
  return {
    store: subject,
    judging: async (chats) => {
      await subject.applyMembershipChanges(chats);
      return subject;
    },
    loseState: async () => {
      await redis.del(subject.keys.stateMarker());
    },
    cleanup: async () => {
      await deleteKeys(redis, keyPrefix);
    },
  };
});
