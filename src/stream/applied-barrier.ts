/**
 * Cross-topic ordering (contract §1): before a membership event is judged, every approval already
 * on the approvals topic must be in state; before a message sender is treated as joining, every
 * membership event already on its topic too. The barrier reads the topics' high watermarks and
 * waits until the applied marks in Redis reach them. The marks live in Redis, not in memory, so
 * this holds when another instance consumes those topics. Which consumer waits for which topics
 * is declared once, in stream/consumer-groups.ts.
 */
import type { Admin } from 'kafkajs';
import type { StateStore } from '../state/store.js';
import { recordsBehind } from './records-behind.js';

export interface BarrierOptions {
  admin: Admin;
  store: StateStore;
  /** Topics whose records must all be applied. */
  topics: readonly string[];
  /** Called while waiting, to keep the consumer's group session alive. */
  onWait?: () => Promise<void>;
  /** Stops waiting (shutdown). */
  shouldStop?: () => boolean;
  /** Called once per warnAfterMs spent waiting, with how far behind the cache is. */
  onSlow?: (behind: bigint, waitedMs: number) => void;
  warnAfterMs?: number;
}

/** How many records are on the topic but not yet in state (0 = caught up). */
export async function recordsNotApplied(admin: Admin, store: StateStore, topic: string): Promise<bigint> {
  const [watermarks, applied] = await Promise.all([admin.fetchTopicOffsets(topic), store.appliedOffsets(topic)]);
  return recordsBehind(watermarks, applied);
}

/** Resolves once the records on the topics at call time are all applied; false if stopped first. */
export async function waitUntilApplied(opts: BarrierOptions): Promise<boolean> {
  const watermarks = await Promise.all(opts.topics.map((t) => opts.admin.fetchTopicOffsets(t)));
  const started = Date.now();
  let delay = 2;
  let nextWarn = opts.warnAfterMs ?? 10_000;
  for (;;) {
    const applied = await Promise.all(opts.topics.map((t) => opts.store.appliedOffsets(t)));
    let behind = 0n;
    watermarks.forEach((w, i) => {
      behind += recordsBehind(w, applied[i]!);
    });
    if (behind === 0n) return true;
    if (opts.shouldStop?.()) return false;
    const waited = Date.now() - started;
    if (waited >= nextWarn) {
      opts.onSlow?.(behind, waited);
      nextWarn += opts.warnAfterMs ?? 10_000;
    }
    await opts.onWait?.();
    await new Promise((r) => setTimeout(r, delay));
    // A short cap: the wait is usually one fetch of the other consumer, and every ms is detection latency.
    delay = Math.min(delay * 2, 5);
  }
}
