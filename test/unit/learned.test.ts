/**
 * The pure parts of a rebuild's learned record (state/learned.ts): which freezes a reviewer
 * cleared, the verdict on a freeze about to be taken, the bound and when it is passed, their
 * stored forms, reading records back (stream/written-outputs.ts) and the gate that keeps live
 * judging free of it.
 */
import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { decodeBound, decodeLearnedChat, encodeBound, learnedField } from '../../src/state/codec.js';
import { LearnedGate } from '../../src/state/learned-gate.js';
import type { LearnedChat, LearnedFreeze, LearningBound } from '../../src/state/learned.js';
import { beforeBound, boundPassed, clearedAfter, freezeVerdict, NOTHING_LEARNED } from '../../src/state/learned.js';
import type { LearnedReads } from '../../src/state/store.js';
import { classifyBatch } from '../../src/stream/written-outputs.js';

const T = 1_700_000_000_000;
const freezeAt = (partition: number, offset: number, requestedAt = T): LearnedFreeze => ({
  partition,
  offset: BigInt(offset),
  requestedAt,
});
const unfreezes = (...u: Array<[partition: number, offset: number, at: number]>) =>
  new Map(u.map(([p, o, at]) => [p, { offset: BigInt(o), at }]));

describe('clearedAfter', () => {
  it('on the freeze’s own partition, only an unfreeze at a later offset clears it, whatever its moment', () => {
    const f = freezeAt(0, 10, T);
    expect(clearedAfter(f, unfreezes([0, 11, T - 60_000]))).toBe(true);
    expect(clearedAfter(f, unfreezes([0, 9, T + 60_000]))).toBe(false);
    expect(clearedAfter(f, unfreezes([0, 10, T + 60_000]))).toBe(false);
    expect(clearedAfter(f, new Map())).toBe(false);
  });

  it('on another partition, an unfreeze dated no earlier than the freeze was requested clears it', () => {
    const f = freezeAt(0, 10, T);
    expect(clearedAfter(f, unfreezes([1, 0, T]))).toBe(true);
    expect(clearedAfter(f, unfreezes([1, 99, T - 1]))).toBe(false);
    expect(clearedAfter(f, unfreezes([0, 3, T + 5], [2, 1, T + 5]))).toBe(true);
  });
});

describe('freezeVerdict', () => {
  const chat = (freezes: Record<string, LearnedFreeze>, u = new Map<number, { offset: bigint; at: number }>()) =>
    ({ freezes: new Map(Object.entries(freezes)), unfreezes: u }) satisfies LearnedChat;

  it('nothing learned: write, as live judging does', () => {
    expect(freezeVerdict(NOTHING_LEARNED, { alertId: 'a', triggerAt: T, replayed: true })).toBe('write');
    expect(freezeVerdict(NOTHING_LEARNED, { alertId: 'a', triggerAt: T, replayed: false })).toBe('write');
  });

  it('a freeze on the control topic is written, unless a reviewer unfroze the chat after it', () => {
    const learned = chat({ a1: freezeAt(0, 5), a2: freezeAt(0, 9) }, unfreezes([0, 7, T + 1000]));
    expect(freezeVerdict(learned, { alertId: 'a1', triggerAt: T, replayed: true })).toBe('cleared');
    expect(freezeVerdict(learned, { alertId: 'a2', triggerAt: T + 5000, replayed: true })).toBe('written');
    // Also when judged anew (after the bound): it is on the topic, its budget was spent then.
    expect(freezeVerdict(learned, { alertId: 'a2', triggerAt: T + 5000, replayed: false })).toBe('written');
  });

  it('a freeze never written, for a replayed violation older than an unfreeze, was cleared by it; a newer one is written', () => {
    const learned = chat({ a1: freezeAt(0, 5) }, unfreezes([0, 7, T + 1000]));
    expect(freezeVerdict(learned, { alertId: 'b', triggerAt: T + 1000, replayed: true })).toBe('cleared');
    expect(freezeVerdict(learned, { alertId: 'b', triggerAt: T + 1001, replayed: true })).toBe('write');
    // A record that arrived after the rewind is judged as live: the unfreeze does not hide it.
    expect(freezeVerdict(learned, { alertId: 'b', triggerAt: T, replayed: false })).toBe('write');
  });
});

const bound: LearningBound = {
  learnedAt: T,
  groups: [
    {
      groupId: 'g',
      topics: [
        {
          topic: 'm',
          ends: [
            { partition: 0, offset: '10' },
            { partition: 1, offset: '0' },
          ],
        },
        { topic: 'c', ends: [{ partition: 0, offset: '3' }] },
      ],
    },
    { groupId: 'g.approvals', topics: [{ topic: 'a', ends: [{ partition: 0, offset: '9007199254740993' }] }] },
  ],
};

describe('the bound', () => {
  it('says which records were there when the groups were rewound', () => {
    expect(beforeBound(bound, 'm', 0, 9)).toBe(true);
    expect(beforeBound(bound, 'm', 0, '10')).toBe(false);
    expect(beforeBound(bound, 'm', 1, 0)).toBe(false);
    expect(beforeBound(bound, 'm', 2, 0)).toBe(false);
    expect(beforeBound(bound, 'other', 0, 0)).toBe(false);
    expect(beforeBound(bound, 'a', 0, '9007199254740992')).toBe(true);
  });

  it('is passed once every group has committed up to every end; an empty partition needs no commit', () => {
    const committed =
      (offsets: Record<string, Record<number, bigint>>) =>
      (groupId: string, topic: string): ReadonlyMap<number, bigint> =>
        new Map(Object.entries(offsets[`${groupId}/${topic}`] ?? {}).map(([p, o]) => [Number(p), o]));
    const all = { 'g/m': { 0: 10n }, 'g/c': { 0: 3n }, 'g.approvals/a': { 0: 9007199254740993n } };
    expect(boundPassed(bound, committed(all))).toBe(true);
    expect(boundPassed(bound, committed({ ...all, 'g/m': { 0: 9n } }))).toBe(false);
    expect(boundPassed(bound, committed({ ...all, 'g/c': {} }))).toBe(false);
    expect(boundPassed(bound, committed({ ...all, 'g.approvals/a': { 0: 9007199254740992n } }))).toBe(false);
    expect(boundPassed(bound, committed({ ...all, 'g/m': { 0: 11n, 1: 5n } }))).toBe(true);
  });

  it('is stored as JSON and read back the same; nothing stored is no bound', () => {
    expect(decodeBound(encodeBound(bound))).toEqual(bound);
    expect(decodeBound(null)).toBeNull();
    expect(decodeBound('')).toBeNull();
  });
});

describe('the learned hash', () => {
  it('names written outputs by kind and alertId, and reads freezes and unfreezes back, skipping what it does not know', () => {
    expect(learnedField({ kind: 'alert', chatId: 'c', alertId: 'x' })).not.toBe(
      learnedField({ kind: 'freeze', chatId: 'c', alertId: 'x' }),
    );
    const chat = decodeLearnedChat({
      [learnedField({ kind: 'alert', chatId: 'c', alertId: 'a1' })]: '1',
      [learnedField({ kind: 'freeze', chatId: 'c', alertId: 'a1' })]: '2',
      'fo:a1': '9007199254740993',
      'fr:a1': String(T),
      'f:broken': 'x',
      'uo:2': '12',
      'ut:2': String(T + 1),
      'uo:3': 'nonsense',
      'zz:1': 'unknown',
    });
    expect(chat.freezes).toEqual(new Map([['a1', { partition: 2, offset: 9007199254740993n, requestedAt: T }]]));
    expect(chat.unfreezes).toEqual(new Map([[2, { offset: 12n, at: T + 1 }]]));
  });
});

describe('reading outputs back', () => {
  const topics = { alerts: 'alerts', control: 'control' };
  const opts = { topics, limits: { maxValueBytes: 4096, maxMembers: 10 }, maxSkewMs: 300_000 };
  const msg = (offset: number, value: unknown, timestamp = T): KafkaMessage => ({
    key: null,
    value: value === null ? null : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
    timestamp: String(timestamp),
    attributes: 0,
    offset: String(offset),
    size: 0,
  });

  it('takes alerts by alertId and chat, and nothing else from the alerts topic', () => {
    const out = classifyBatch(
      opts,
      {
        topic: 'alerts',
        partition: 0,
        messages: [
          msg(0, { type: 'pairing.unapproved', alertId: 'a1', chatId: 'c1', pair: ['x', 'y'] }),
          msg(1, { type: 'pairing.unapproved', chatId: 'c1' }),
          msg(2, 'not json'),
          msg(3, null),
          msg(4, { type: 'pairing.unapproved', alertId: 'a2', chatId: 'c2' }),
        ],
      },
      10n,
    );
    expect(out).toEqual([
      { kind: 'alert', chatId: 'c1', alertId: 'a1' },
      { kind: 'alert', chatId: 'c2', alertId: 'a2' },
    ]);
  });

  it('takes freezes and reviewers’ unfreezes with where they were written, up to the end only', () => {
    const at = new Date(T + 2000).toISOString();
    const out = classifyBatch(
      opts,
      {
        topic: 'control',
        partition: 3,
        messages: [
          msg(7, { type: 'chat.freeze', chatId: 'c', alertId: 'a1', requestedAt: new Date(T).toISOString() }),
          msg(8, { type: 'chat.unfrozen', chatId: 'c', by: 'rev', occurredAt: at }, T + 2500),
          msg(9, { type: 'freeze-breaker.reset', by: 'oncall', occurredAt: at }),
          msg(10, { type: 'chat.freeze', chatId: 'c', requestedAt: at }),
          msg(11, { type: 'chat.unfrozen', chatId: 'c', by: 'rev', occurredAt: at }),
        ],
      },
      11n,
    );
    expect(out).toEqual([
      { kind: 'freeze', chatId: 'c', alertId: 'a1', partition: 3, offset: '7', requestedAt: T },
      { kind: 'unfreeze', chatId: 'c', partition: 3, offset: '8', at: T + 2000 },
    ]);
  });

  it('dates an unfreeze stamped far in the future as of its record, as the membership consumer judges it', () => {
    const future = new Date(T + 3_600_000).toISOString();
    const [u] = classifyBatch(
      opts,
      {
        topic: 'control',
        partition: 0,
        messages: [msg(0, { type: 'chat.unfrozen', chatId: 'c', by: 'r', occurredAt: future })],
      },
      1n,
    );
    expect(u).toMatchObject({ kind: 'unfreeze', at: T });
  });
});

describe('LearnedGate', () => {
  const store = () => {
    const calls: string[] = [];
    const reads: LearnedReads = {
      alreadyWritten: async (o) => {
        calls.push('alreadyWritten');
        return o.map(() => true);
      },
      learnedChat: async () => {
        calls.push('learnedChat');
        return { freezes: new Map([['a', freezeAt(0, 1)]]), unfreezes: new Map() };
      },
    };
    return { calls, reads };
  };

  it('asks Redis nothing while no learned record is kept, so live judging is unchanged', async () => {
    const { calls, reads } = store();
    const gate = new LearnedGate(reads);
    expect(gate.active).toBe(false);
    expect(await gate.alreadyWritten([{ kind: 'alert', chatId: 'c', alertId: 'a' }])).toEqual([false]);
    expect(await gate.learnedChat('c')).toBe(NOTHING_LEARNED);
    expect(gate.replayed('m', 0, 0)).toBe(false);
    expect(calls).toEqual([]);
  });

  it('consults the store while a bound is followed, and stops once it is dropped', async () => {
    const { calls, reads } = store();
    const gate = new LearnedGate(reads);
    gate.follow(bound);
    expect(gate.active).toBe(true);
    expect(await gate.alreadyWritten([{ kind: 'alert', chatId: 'c', alertId: 'a' }])).toEqual([true]);
    expect((await gate.learnedChat('c')).freezes.size).toBe(1);
    expect(gate.replayed('m', 0, 0)).toBe(true);
    expect(await gate.alreadyWritten([])).toEqual([]);
    gate.follow(null);
    expect(await gate.alreadyWritten([{ kind: 'alert', chatId: 'c', alertId: 'a' }])).toEqual([false]);
    expect(calls).toEqual(['alreadyWritten', 'learnedChat']);
  });
});
