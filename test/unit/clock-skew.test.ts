/** Bounded clock skew: an event dated too far ahead of its Kafka record is judged as of the record. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { RecordClock } from '../../src/events/decode.js';
import { decodeControl, decodeInput, judgedMoment } from '../../src/events/decode.js';
import type { InputEvent } from '../../src/events/schema.js';
import { classify } from '../../src/history/history-record.js';
import { judgeEvent } from '../../src/judge/judge.js';
import { OncePerKey } from '../../src/observability/once-per-key.js';
import { MemoryStore } from '../../src/state/memory-store.js';

const limits = { maxValueBytes: 4096, maxMembers: 10 };
const T0 = Date.parse('2026-11-21T10:00:00.000Z');
const iso = (s: number) => new Date(T0 + s * 1000).toISOString();
const SKEW = 300_000;
const clock = (s: number): RecordClock => ({ timestamp: T0 + s * 1000, maxSkewMs: SKEW });
const buf = (v: unknown) => Buffer.from(JSON.stringify(v));
const added = (occurredAt: string) => buf({ type: 'member.added', eventId: 'e', occurredAt, chatId: 'c', userId: 'u' });

describe('the moment an event is judged at', () => {
  it('is occurredAt within the bound, either side of the record timestamp', () => {
    for (const s of [-300, -1, 0, 1, 300]) expect(judgedMoment(T0 + s * 1000, clock(0))).toEqual({ at: T0 + s * 1000 });
  });

  it('is the record timestamp when occurredAt is further ahead than the bound (future)', () => {
    expect(judgedMoment(T0 + 301_000, clock(0))).toEqual({ at: T0, skew: 'future' });
    const d = decodeInput('membership', added('9999-12-31T23:59:59.999Z'), limits, clock(7));
    expect(d).toMatchObject({ ok: true, at: T0 + 7000, skew: 'future' });
    // The event itself is left as written: alerts quote the trigger's occurredAt as stated.
    expect(d.ok && d.event.occurredAt).toBe('9999-12-31T23:59:59.999Z');
  });

  it('is occurredAt, marked past, when it is further behind than the bound: replayed history is judged as stated', () => {
    expect(judgedMoment(T0 - 301_000, clock(0))).toEqual({ at: T0 - 301_000, skew: 'past' });
    expect(decodeInput('membership', added('1970-01-01T00:00:00Z'), limits, clock(0))).toMatchObject({
      ok: true,
      at: 0,
      skew: 'past',
    });
  });

  it('is occurredAt when the record has no timestamp, or none is given (as the audit reads history)', () => {
    for (const timestamp of [-1, Number.NaN])
      expect(judgedMoment(T0 + 10 * SKEW, { timestamp, maxSkewMs: SKEW })).toEqual({ at: T0 + 10 * SKEW });
    expect(decodeInput('membership', added(iso(3600)), limits)).toMatchObject({ ok: true, at: T0 + 3_600_000 });
    expect(decodeInput('membership', added(iso(3600)), limits)).not.toHaveProperty('skew');
  });

  it('is bounded for a reviewer unfreeze too (one dated 9999 would clear every violation until then)', () => {
    const d = decodeControl(
      buf({ type: 'chat.unfrozen', chatId: 'c', by: 'rev', occurredAt: '9999-01-01T00:00:00Z' }),
      limits,
      clock(5),
    );
    expect(d).toMatchObject({ ok: true, at: T0 + 5000, skew: 'future' });
  });

  it('is never further ahead of the record than the bound, and moves only what is ahead of it (property)', () => {
    const ms = fc.integer({ min: 0, max: 253_402_300_799_999 }); // up to 9999-12-31
    fc.assert(
      fc.property(ms, ms, fc.integer({ min: 0, max: 86_400_000 }), (occurredAt, timestamp, maxSkewMs) => {
        const { at, skew } = judgedMoment(occurredAt, { timestamp, maxSkewMs });
        expect(at - timestamp).toBeLessThanOrEqual(maxSkewMs);
        expect(at === occurredAt).toBe(skew !== 'future');
        expect(skew === 'past').toBe(timestamp - occurredAt > maxSkewMs);
      }),
      { numRuns: 2000 },
    );
  });

  it('with a zero bound, clamps any moment ahead of the record', () => {
    expect(judgedMoment(T0 + 1, { timestamp: T0, maxSkewMs: 0 })).toEqual({ at: T0, skew: 'future' });
    expect(judgedMoment(T0, { timestamp: T0, maxSkewMs: 0 })).toEqual({ at: T0 });
  });
});

describe('a future-dated fact judged as of its record', () => {
  /**
   * Children A and C approve each other in records written at t=10 whose occurredAt says 9999;
   * then, at t=20, A creates a chat with C. Judged as stated, the approvals do not exist yet when
   * the chat is created: a false freeze.
   */
  async function approvedInTheFuture(withClock: boolean) {
    const store = new MemoryStore();
    const deps = { store, mode: 'enforce' as const, now: () => T0 + 60_000 };
    let offset = 0;
    const judge = async (value: Buffer, stream: 'approvals' | 'membership', s: number) => {
      const d = decodeInput(stream, value, limits, withClock ? clock(s) : undefined);
      if (!d.ok) throw new Error(d.detail);
      const e: InputEvent = d.event;
      return (
        await judgeEvent(deps, {
          event: e,
          at: d.at,
          ref: { eventId: e.eventId, type: e.type, topic: stream, partition: 0, offset: offset++ },
        })
      ).outputs;
    };
    for (const [c, x] of [
      ['A', 'C'],
      ['C', 'A'],
    ] as const) {
      await judge(
        buf({ type: 'user.registered', eventId: `r${c}`, occurredAt: iso(0), userId: c, role: 'child' }),
        'approvals',
        0,
      );
      await judge(
        buf({
          type: 'contact.approved',
          eventId: `a${c}`,
          occurredAt: '9999-12-31T00:00:00Z',
          childId: c,
          contactId: x,
        }),
        'approvals',
        10,
      );
    }
    return judge(
      buf({
        type: 'chat.created',
        eventId: 'g',
        occurredAt: iso(20),
        chatId: 'g',
        createdBy: 'A',
        members: ['A', 'C'],
      }),
      'membership',
      20,
    );
  }

  it('takes effect at the record timestamp: the approvals count for a chat created after their records', async () => {
    expect(await approvedInTheFuture(true)).toEqual([]);
  });

  it('would otherwise be taken at its word: the chat is frozen, falsely', async () => {
    const outputs = await approvedInTheFuture(false);
    expect(outputs.filter((o) => o.kind === 'alert').map((o) => (o.kind === 'alert' ? o.record.pair : null))).toEqual([
      ['A', 'C'],
    ]);
  });
});

describe('history read back (the audit)', () => {
  it('bounds skew as the monitor does when given the record timestamp and the bound', () => {
    const value = added('9999-12-31T23:59:59.999Z');
    expect(classify('membership', value, { ...limits, maxClockSkewMs: SKEW }, 0, T0)).toMatchObject({
      at: T0,
      timed: true,
    });
    expect(classify('membership', value, limits, 0, T0).at).toBe(Date.parse('9999-12-31T23:59:59.999Z'));
    const unfreeze = buf({ type: 'chat.unfrozen', chatId: 'c', occurredAt: '9999-01-01T00:00:00Z' });
    expect(classify('control', unfreeze, { ...limits, maxClockSkewMs: SKEW }, 0, T0)).toMatchObject({
      at: T0,
      content: { kind: 'unfreeze' },
    });
  });
});

describe('PAIRGUARD_MAX_CLOCK_SKEW', () => {
  it('defaults to 300 seconds and stops start-up with one line naming it when bad', () => {
    expect(loadConfig({}).maxClockSkewSeconds).toBe(300);
    expect(loadConfig({ PAIRGUARD_MAX_CLOCK_SKEW: '0' }).maxClockSkewSeconds).toBe(0);
    for (const bad of ['-1', '5m', '1.5', '86401'])
      expect(() => loadConfig({ PAIRGUARD_MAX_CLOCK_SKEW: bad })).toThrow(/^invalid PAIRGUARD_MAX_CLOCK_SKEW: [^\n]*$/);
  });
});

describe('logging once per key', () => {
  it('says first once per key, and forgets the least recently seen beyond its capacity', () => {
    const once = new OncePerKey(3);
    expect(['a', 'b', 'a', 'c', 'a'].map((k) => once.first(k))).toEqual([true, true, false, true, false]);
    expect(once.first('d')).toBe(true); // b, the least recently seen, is forgotten
    expect(once.size).toBe(3);
    expect([once.first('a'), once.first('b')]).toEqual([false, true]);
    for (let i = 0; i < 10_000; i++) once.first(`k${i}`);
    expect(once.size).toBe(3);
  });
});
