/** The stored forms of state (src/state/codec.ts): what the Lua merges read and write. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NEVER, UNREGISTERED, applyRegistration, applySwitch } from '../../src/policy/timeline.js';
import {
  contactOf,
  decodeChat,
  decodeEpisode,
  decodeRole,
  decodeToggle,
  decodeWithheld,
  encodeRole,
  encodeToggle,
} from '../../src/state/codec.js';
import { episodeSent, freezeSent, marksFreeze, written } from '../../src/state/decisions.js';

describe('state codecs', () => {
  it('round-trips a toggle in its wire form, and reads a missing one as never', () => {
    const t = applySwitch(applySwitch(NEVER, true, 1_700_000_000_123), false, 1_700_000_000_456);
    expect(encodeToggle(t)).toBe('1700000000123,1700000000456,0');
    expect(decodeToggle(encodeToggle(t))).toEqual(t);
    expect(decodeToggle(null)).toEqual(NEVER);
  });

  it('round-trips a role history in its wire form', () => {
    const a = applyRegistration(applyRegistration(UNREGISTERED, 'adult', 10), 'child', 20);
    expect(encodeRole(a)).toBe('child,20,adult,10');
    expect(decodeRole(encodeRole(a))).toEqual(a);
    expect(decodeRole(undefined)).toEqual(UNREGISTERED);
    expect(decodeRole(encodeRole(UNREGISTERED))).toEqual(UNREGISTERED);
  });

  it('round-trips any toggle', () => {
    const moment = fc.integer({ min: 0, max: 2 ** 45 });
    fc.assert(
      fc.property(fc.record({ on: moment, off: moment, lastOn: fc.boolean() }), (t) => {
        expect(decodeToggle(encodeToggle(t))).toEqual(t);
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
    expect(flat.members.get('u1')).toEqual({ on: 1, off: 0, lastOn: true });
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
