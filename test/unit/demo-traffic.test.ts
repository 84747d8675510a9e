/** The demo's synthetic traffic plants exactly the violations and malformed records it says. */
import { describe, expect, it } from 'vitest';
import { syntheticTraffic } from '../../src/demo/traffic.js';
import type { Scene } from '../../src/demo/traffic.js';
import { decodeInput } from '../../src/events/decode.js';
import type { Stream } from '../../src/events/schema.js';
import { judgeEvent } from '../../src/judge/judge.js';
import { MemoryStore } from '../../src/state/memory-store.js';

describe('demo traffic', () => {
  it('raises one alert per violation scene, one dead letter per malformed scene, and nothing else', async () => {
    let t = Date.parse('2026-11-21T10:00:00Z');
    const scenes: Scene[] = [];
    for (const s of syntheticTraffic({ run: 'x', violationEvery: 5, malformedEvery: 12, now: () => (t += 10) })) {
      scenes.push(s);
      if (scenes.length === 60) break;
    }
    const store = new MemoryStore();
    const deps = { store, mode: 'enforce' as const, now: () => t };
    let offset = 0;
    for (const scene of scenes) {
      let alerts = 0;
      let dead = 0;
      for (const r of scene.records) {
        const decoded = decodeInput(r.role as Stream, Buffer.from(r.value), { maxValueBytes: 65_536, maxMembers: 100 });
        if (!decoded.ok) {
          dead++;
          continue;
        }
        const j = await judgeEvent(deps, {
          event: decoded.event,
          at: decoded.at,
          ref: {
            eventId: decoded.event.eventId,
            type: decoded.event.type,
            topic: r.role,
            partition: 0,
            offset: offset++,
          },
        });
        alerts += j.outputs.filter((o) => o.kind === 'alert').length;
      }
      expect([scene.kind, alerts, dead], scene.story).toEqual([
        scene.kind,
        scene.kind === 'violation' ? 1 : 0,
        scene.kind === 'malformed' ? 1 : 0,
      ]);
    }
    const kinds = scenes.map((s) => s.kind);
    expect(kinds.filter((k) => k === 'violation').length).toBe(11);
    expect(kinds.filter((k) => k === 'malformed').length).toBe(5);
    expect(scenes.some((s) => s.story.includes('revokes'))).toBe(true);
  });
});
