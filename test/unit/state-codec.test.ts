/** The stored forms of state (src/state/codec.ts): what the Lua merges read and write. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NEVER, UNREGISTERED, applyRegistration, applySwitch } from '../../src/policy/timeline.js';
import {
  contactOf,
  decodeChat,
  decodeEpisode,
  decodeRole,
  decodeHistory,
  decodeWithheld,
  encodeRole,
  encodeHistory,
} from '../../src/state/codec.js';
import { episodeSent, freezeSent, marksFreeze, written } from '../../src/state/decisions.js';

describe('state codecs', () => {
  it('round-trips a fact history in its wire form, and reads a missing one as never', () => {
    const t = applySwitch(applySwitch(NEVER, true, 1_700_000_000_123), false, [1_700_000_000_456, 1, 3, 12]);
    expect(encodeHistory(t)).toBe('1700000000123,0,0,0,1;1700000000456,1,3,12,0');
    expect(decodeHistory(encodeHistory(t))).toEqual(t);
    expect(decodeHistory(null)).toEqual(NEVER);
  });

  it('reads the toggle form written before histories as the switches it remembered', () => {
    expect(decodeHistory('10,20,0')).toEqual([
      { stamp: [10, 0, 0, 0], on: true },
      { stamp: [20, 0, 0, 0], on: false },
    ]);
    expect(decodeHistory('30,20,1')).toEqual([
      { stamp: [20, 0, 0, 0], on: false },
      { stamp: [30, 0, 0, 0], on: true },
    ]);
    expect(decodeHistory('0,20,0')).toEqual([{ stamp: [20, 0, 0, 0], on: false }]);
    expect(decodeHistory('20,20,1')).toEqual([{ stamp: [20, 0, 0, 0], on: true }]);
    expect(decodeRole('child,20,adult,10')).toEqual([
      { stamp: [10, 0, 0, 0], role: 'adult' },
      { stamp: [20, 0, 0, 0], role: 'child' },
    ]);
  });

  it('round-trips a role history in its wire form', () => {
    const a = applyRegistration(applyRegistration(UNREGISTERED, 'adult', 10), 'child', 20);
    expect(encodeRole(a)).toBe('10,0,0,0,a;20,0,0,0,c');
    expect(decodeRole(encodeRole(a))).toEqual(a);
    expect(decodeRole(undefined)).toEqual(UNREGISTERED);
    expect(decodeRole(encodeRole(UNREGISTERED))).toEqual(UNREGISTERED);
  });

  it('round-trips any history', () => {
    const n = fc.integer({ min: 0, max: 2 ** 45 });
    const stamp = fc.tuple(n, fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 999 }), n);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), stamp), { maxLength: 6 }), (switches) => {
        const h = switches.reduce((t, [on, m]) => applySwitch(t, on, m), NEVER);
        expect(decodeHistory(encodeHistory(h))).toEqual(h);
      }),
    );
  });

  it('reads an episode written before triggerAt was kept, and keeps its stored form for compare-and-set', () => {
    const raw = '{"alertId":"a1","openedAt":5,"sent":true}';
    expect(decodeEpisode(raw)).toEqual({ raw, record: { alertId: 'a1', openedAt: 5, triggerAt: 0, sent: true } });
  });

  it('marks a decision sent from the form it was stored in, the freeze field apart from episodes', () => {
    const episode = decodeEpisode('{"alertId":"a1","openedAt":5,"sent":false}');
    const mark = episodeSent('c1', 'A\u0000B', episode);
    expect(mark).toMatchObject({ chatId: 'c1', field: 'A\u0000B', expected: episode.raw });
    expect(decodeEpisode(mark.next).record).toEqual({ ...episode.record, sent: true });
    expect(marksFreeze(mark)).toBe(false);
    const freeze = written({ alertId: 'f', requestedAt: 1, triggerAt: 1, sent: false });
    expect(marksFreeze(freezeSent('c1', freeze))).toBe(true);
    expect(freezeSent('c1', freeze).expected).toBe(freeze.raw);
  });

  it('reads a chat from flat script replies and from HGETALL objects alike', () => {
    const episode = written({ alertId: 'a', openedAt: 1, triggerAt: 1, sent: false });
    const freeze = written({ alertId: 'f', requestedAt: 2, triggerAt: 1, sent: true });
    const flat = decodeChat(['u1', '1,0,1'], ['A\u0000B', episode.raw, 'frozen', freeze.raw]);
    const object = decodeChat({ u1: '1,0,1' }, { 'A\u0000B': episode.raw, frozen: freeze.raw });
    expect(flat).toEqual(object);
    expect(flat.members.get('u1')).toEqual([{ stamp: [1, 0, 0, 0], on: true }]);
    expect(flat.episodes.get('A\u0000B')).toEqual(episode);
    expect(flat.frozen).toEqual(freeze);
  });

  it('names the contact of an approval field, and reads withheld freezes oldest first', () => {
    expect(contactOf('a:a:colon')).toBe('a:colon');
    expect(decodeWithheld(['c2', 'x|y|20', 'c1', 'z|10'])).toEqual([
      { chatId: 'c1', alertId: 'z', at: 10 },
      { chatId: 'c2', alertId: 'x|y', at: 20 },
    ]);
  });
});
