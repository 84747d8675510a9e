import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeInput } from '../../src/events/decode.js';
import { streamOfType } from '../../src/events/schema.js';
import type { InputEventType } from '../../src/events/schema.js';
import { generatorOptionsSchema, VIOLATION_KINDS } from '../../src/synthetic/options.js';
import { SyntheticPlatform } from '../../src/synthetic/platform.js';

const limits = { maxValueBytes: 262_144, maxMembers: 1000 };

function fingerprint(options: ConstructorParameters<typeof SyntheticPlatform>[0]) {
  const p = new SyntheticPlatform(options);
  const h = createHash('sha256');
  for (const e of p.events()) h.update(`${JSON.stringify(e)}\n`);
  return { events: h.digest('hex'), answers: createHash('sha256').update(JSON.stringify(p.answers())).digest('hex') };
}

describe('the synthetic platform', () => {
  it('is deterministic: same seed and knobs, same bytes; another seed, another history', () => {
    const a = fingerprint({ seed: 3, events: 5_000 });
    expect(fingerprint({ seed: 3, events: 5_000 })).toEqual(a);
    expect(fingerprint({ seed: 4, events: 5_000 }).events).not.toBe(a.events);
  });

  it('writes exactly the events asked for, all valid, time-ordered and distinct in time', () => {
    const p = new SyntheticPlatform({ seed: 9, events: 8_000, start: '2026-03-01T00:00:00Z', days: 2 });
    let n = 0;
    let last = 0;
    const ids = new Set<string>();
    const types = new Set<string>();
    for (const e of p.events()) {
      n++;
      const d = decodeInput(streamOfType[e.type as InputEventType], Buffer.from(JSON.stringify(e)), limits);
      if (!d.ok) throw new Error(`${e.eventId}: ${d.reason} ${d.detail}`);
      expect(d.at).toBeGreaterThan(last);
      last = d.at;
      ids.add(e.eventId);
      types.add(e.type);
    }
    expect(n).toBe(8_000);
    expect(ids.size).toBe(8_000);
    expect([...types].sort()).toEqual([
      'chat.created',
      'contact.approved',
      'contact.revoked',
      'member.added',
      'member.removed',
      'message.sent',
      'user.registered',
    ]);
    expect(last).toBeLessThan(Date.parse('2026-03-03T12:00:00Z'));
    expect(p.answers()).toMatchObject({
      events: 8_000,
      firstEventAt: '2026-03-01T00:00:00.000Z',
      lastEventAt: new Date(last).toISOString(),
    });
  });

  it('injects each kind at about the chosen rate and lists every chat it reached', () => {
    const p = new SyntheticPlatform({
      seed: 5,
      events: 50_000,
      rates: { 'group-flaw': 6, 'revocation-in-chat': 0, 'unknown-user': 3, 'non-member-message': 3 },
    });
    for (const _ of p.events());
    const a = p.answers();
    expect(a.injected['revocation-in-chat']).toBe(0);
    expect(a.injected['group-flaw']).toBeGreaterThan(15);
    expect(a.injected['group-flaw']).toBeLessThan(50);
    expect(a.injected['unknown-user']).toBeGreaterThan(5);
    for (const kind of VIOLATION_KINDS) {
      const chats = a.chats.filter((c) => c.causes.includes(kind)).length;
      if (kind === 'revocation-in-chat') expect(chats).toBe(0);
      else {
        // One new or target chat per injection; two injections may land in the same chat.
        expect(chats).toBeGreaterThan(a.injected[kind] / 2);
        expect(chats).toBeLessThanOrEqual(a.injected[kind]);
      }
    }
    expect(a.chats.every((c) => c.pairs.length > 0 && c.violationMs >= 0)).toBe(true);
    expect(a.chats.some((c) => c.ongoing)).toBe(true);
    expect(a.chats.some((c) => !c.ongoing)).toBe(true);
  });

  it('with no injections, produces a history with no violation at all', () => {
    const p = new SyntheticPlatform({
      seed: 2,
      events: 20_000,
      rates: { 'group-flaw': 0, 'revocation-in-chat': 0, 'unknown-user': 0, 'non-member-message': 0 },
    });
    for (const _ of p.events());
    expect(p.answers().chats).toEqual([]);
  });

  it('leaves message text out when asked', () => {
    const p = new SyntheticPlatform({ seed: 1, events: 2_000, text: false });
    expect([...p.events()].some((e) => 'text' in e)).toBe(false);
  });

  it('validates its knobs', () => {
    expect(generatorOptionsSchema.safeParse({ events: 0 }).success).toBe(false);
    expect(generatorOptionsSchema.safeParse({ rates: { 'group-flaw': -1 } }).success).toBe(false);
    expect(generatorOptionsSchema.parse({}).rates).toEqual({
      'group-flaw': 2,
      'revocation-in-chat': 2,
      'unknown-user': 2,
      'non-member-message': 2,
    });
  });
});
