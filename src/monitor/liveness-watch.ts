/**
 * Liveness (observability/liveness.ts): every so often, where each consumer's group stands on
 * the partitions it owns, and whether it is excused from progress (held at an undecodable batch,
 * or waiting at the ordering barrier for records not applied yet).
 */
import type { Admin } from 'kafkajs';
import { ProgressWatch } from '../observability/liveness.js';
import type { RedisStateStore } from '../state/redis-store.js';
import { recordsNotApplied } from '../stream/applied-barrier.js';
import { committedPositions } from '../stream/committed-positions.js';
import type { ConsumerSlot } from './consumer-slots.js';

export interface LivenessDeps {
  admin: Admin;
  store: RedisStateStore;
  slots: readonly ConsumerSlot[];
  /** How long a consumer may judge nothing with records waiting (PAIRGUARD_STALL_SECONDS). */
  stallSeconds: number;
  healthIntervalMs: number;
  /** Whether Redis and Kafka answered the last health pass: stalls count only while they do. */
  dependenciesUp: () => boolean;
}

/** The watch readiness and /healthz ask, the look that feeds it, and how often to look. */
export function livenessWatch(deps: LivenessDeps): {
  progress: ProgressWatch;
  look: () => Promise<void>;
  intervalMs: number;
} {
  const { admin, healthIntervalMs } = deps;
  const stallMs = deps.stallSeconds * 1000;
  const progress = new ProgressWatch(stallMs);
  // A barrier that cannot be read in time (Redis hangs) excuses nothing: the wait cannot end either.
  const waitingAtBarrier = async (slot: ConsumerSlot): Promise<boolean> => {
    if (slot.inFlight === 0) return false;
    const behind = Promise.all(slot.waitsFor.map((t) => recordsNotApplied(admin, deps.store, t))).then((b) =>
      b.some((n) => n > 0n),
    );
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>(
      (resolve) => (timer = setTimeout(() => resolve(false), Math.max(1_000, healthIntervalMs))),
    );
    return Promise.race([behind, late]).finally(() => clearTimeout(timer));
  };
  const observe = async (slot: ConsumerSlot) => {
    try {
      // Out of its group (stopped, or rebuilt and not joined yet): every partition of its topics.
      const assignment = slot.down ? null : slot.assignment;
      if (!slot.down && !assignment) return { name: slot.name, positions: [], excused: null };
      const excused = slot.held ? 'held' : (await waitingAtBarrier(slot)) ? 'waiting at the ordering barrier' : null;
      return {
        name: slot.name,
        positions: await committedPositions(admin, slot.groupId, slot.topics, assignment),
        excused,
      };
    } catch {
      return { name: slot.name, positions: null, excused: null };
    }
  };
  const look = async () => {
    // Elapsed time, not event time: the wall clock even when a test fixes the monitor's `now`.
    const at = Date.now();
    const up = deps.dependenciesUp();
    progress.observe(at, await Promise.all(deps.slots.map(observe)), up);
  };
  return { progress, look, intervalMs: Math.max(healthIntervalMs, Math.min(15_000, stallMs / 10)) };
}
