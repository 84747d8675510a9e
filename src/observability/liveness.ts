/**
 * Liveness as `/healthz` reports it: is some consumer of this process wedged, so that only a
 * restart of the process can help?
 *
 * A consumer is stalled when, for `stallMs` of observation, a partition it owns had records its
 * group had not committed and its committed offset did not move. Not stalled, whatever the time:
 *  - a consumer with nothing to judge (every owned partition committed up to its high watermark);
 *  - a consumer held at a record batch it cannot decode (deliberate; /readyz names it);
 *  - a consumer waiting at the ordering barrier for records another consumer has not applied
 *    yet: the one it waits for is judged by its own progress (here, or on the instance that owns
 *    those partitions), so a wedge is reported once, where a restart would clear it;
 *  - any time Kafka or Redis does not answer: a restart would not bring them back (/readyz and
 *    the *_up gauges report it), so those minutes do not count and the clock starts again.
 * The verdict is as of the last observation, so a slow look at the offsets cannot invent a stall.
 */
import type { PartitionPosition } from '../stream/committed-positions.js';
import type { ConsumerName } from '../stream/consumer-groups.js';

// The evidence a look gathers (stream/committed-positions.ts), re-exported with the observation that holds it.
export type { PartitionPosition };

/** One consumer as one observation saw it. */
export interface ConsumerObservation {
  /** Which consumer. */
  name: ConsumerName;
  /** Its owned partitions, or null when they could not be read. */
  positions: readonly PartitionPosition[] | null;
  /** Why it is deliberately not judging (held, waiting at the barrier), or null. */
  excused: string | null;
}

/** A partition whose committed offset has not moved while records waited. */
interface Still {
  committed: bigint;
  since: number;
}

export class ProgressWatch {
  private readonly still = new Map<ConsumerName, Map<string, Still & { topic: string }>>();
  private observedAt = 0;

  constructor(private readonly stallMs: number) {}

  /** Records one look at every consumer at `now` (ms); `dependenciesUp` false restarts every clock. */
  observe(now: number, consumers: readonly ConsumerObservation[], dependenciesUp: boolean): void {
    this.observedAt = now;
    for (const c of consumers) {
      if (!dependenciesUp || c.positions === null || c.excused !== null) {
        this.still.delete(c.name);
        continue;
      }
      const before = this.still.get(c.name) ?? new Map<string, Still & { topic: string }>();
      const after = new Map<string, Still & { topic: string }>();
      for (const p of c.positions) {
        if (p.committed >= p.high) continue;
        const key = `${p.topic}\u0000${p.partition}`;
        const seen = before.get(key);
        after.set(
          key,
          seen && seen.committed === p.committed ? seen : { topic: p.topic, committed: p.committed, since: now },
        );
      }
      this.still.set(c.name, after);
    }
  }

  /** Why `name` counts as stalled, or null. */
  stalled(name: ConsumerName): string | null {
    let oldest: (Still & { topic: string }) | null = null;
    for (const s of this.still.get(name)?.values() ?? []) if (!oldest || s.since < oldest.since) oldest = s;
    if (!oldest || this.observedAt - oldest.since < this.stallMs) return null;
    const seconds = Math.round((this.observedAt - oldest.since) / 1000);
    return `${name} consumer judged nothing for ${seconds} s while ${oldest.topic} has records it has not committed`;
  }

  /** Why the process counts as stalled (every stalled consumer), or null. */
  reason(names: readonly ConsumerName[]): string | null {
    const stalled = names.flatMap((n) => this.stalled(n) ?? []);
    return stalled.length > 0 ? stalled.join('; ') : null;
  }
}
