import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FactHistory } from '../../src/policy/timeline.js';
import { NEVER, UNREGISTERED, applyRegistration, applySwitch, holdsAt, roleAt } from '../../src/policy/timeline.js';

const fold = (switches: Array<[boolean, number]>): FactHistory =>
  switches.reduce((t, [on, at]) => applySwitch(t, on, at), NEVER);

describe('toggles: facts judged as of a moment', () => {
  it('holds from the moment it is switched on until it is switched off', () => {
    const t = fold([
      [true, 10],
      [false, 20],
    ]);
    expect([5, 10, 15, 20, 25].map((at) => holdsAt(t, at))).toEqual([false, true, true, false, false]);
    expect(holdsAt(t, Infinity)).toBe(false);
  });

  it('counts a revocation in the future of the judged moment as not yet happened', () => {
    const t = fold([
      [true, 10],
      [false, 30],
    ]);
    expect(holdsAt(t, 20)).toBe(true);
  });

  it('re-approval after a revocation holds again', () => {
    const t = fold([
      [true, 10],
      [false, 20],
      [true, 30],
    ]);
    expect(holdsAt(t, 25)).toBe(false);
    expect(holdsAt(t, 35)).toBe(true);
  });

  it('breaks an exact timestamp tie by the order applied', () => {
    expect(
      holdsAt(
        fold([
          [true, 10],
          [false, 10],
        ]),
        10,
      ),
    ).toBe(false);
    expect(
      holdsAt(
        fold([
          [false, 10],
          [true, 10],
        ]),
        10,
      ),
    ).toBe(true);
  });

  it('gives the same answer whatever order switches at distinct moments are applied in', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
        fc.integer({ min: 0, max: 1100 }),
        (times, ons, at) => {
          const switches = times.map((t, i): [boolean, number] => [ons[i]!, t]);
          const inOrder = fold([...switches].sort((a, b) => a[1] - b[1]));
          const reversed = fold([...switches].reverse());
          expect(holdsAt(reversed, Infinity)).toBe(holdsAt(inOrder, Infinity));
          expect(holdsAt(reversed, at)).toBe(holdsAt(inOrder, at));
        },
      ),
    );
  });

  it('applying the same switch twice changes nothing', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 100 })), { maxLength: 8 }), (switches) => {
        const once = fold(switches);
        expect(fold([...switches, ...switches.slice(-1)])).toEqual(once);
      }),
    );
  });
});

describe('roles', () => {
  it('an unknown user is a child', () => {
    expect(roleAt(UNREGISTERED, Infinity)).toBe('child');
  });

  it('judges a late event by the role the user had then', () => {
    let r = applyRegistration(UNREGISTERED, 'adult', 10);
    r = applyRegistration(r, 'child', 20);
    expect(roleAt(r, 5)).toBe('child');
    expect(roleAt(r, 15)).toBe('adult');
    expect(roleAt(r, 25)).toBe('child');
  });

  it('keeps the latest registration whatever the order they arrive in', () => {
    const a = applyRegistration(applyRegistration(UNREGISTERED, 'adult', 10), 'child', 20);
    const b = applyRegistration(applyRegistration(UNREGISTERED, 'child', 20), 'adult', 10);
    expect(b).toEqual(a);
  });
});
