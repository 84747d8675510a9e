/**
 * Where each consumed partition stands, behind `pairguard_consumer_lag` (records) and
 * `pairguard_consumer_lag_seconds`. Batches report what they handled; a periodic look at the high
 * watermarks covers partitions that get no batch (idle, or stuck behind a wait). The gauges are
 * computed when scraped, so the lag in seconds of a stalled consumer keeps growing between batches.
 *
 * Lag in seconds is how long the first record not yet handled has been waiting, estimated as:
 * now minus the timestamp of the last record handled when records remain after it (the next one
 * cannot be older); or, for records that arrived while the partition looked caught up, now minus
 * the moment the periodic look first saw them. It is 0 when the partition is caught up.
 */
import type { LagPositions } from '../stream/lag-watch.js';

/** One partition's position. */
interface Position {
  /** Next offset to handle. */
  next: bigint;
  /** High watermark as last seen. */
  high: bigint;
  /** Since when (ms) the first record not yet handled has waited; null when caught up. */
  waitingSince: number | null;
}

/** One row of the lag gauges. */
export interface LagRow {
  /** Topic name. */
  topic: string;
  /** Partition number. */
  partition: number;
  /** Records between the next one to handle and the high watermark. */
  records: number;
  /** Seconds the first record not yet handled has waited (0 when caught up). */
  seconds: number;
}

export class ConsumerLag implements LagPositions {
  private readonly positions = new Map<string, Map<number, Position>>();

  /** `now` is the monitor's wall clock (ms). */
  constructor(private readonly now: () => number) {}

  /** A batch handled records up to `next` (exclusive); `lastTimestamp` is the last one's (ms). */
  handled(topic: string, partition: number, next: bigint, high: bigint, lastTimestamp: number): void {
    const stamp = Number.isFinite(lastTimestamp) && lastTimestamp > 0 ? lastTimestamp : this.now();
    const parts = this.partitions(topic);
    // The periodic look may have seen a newer high watermark than the one the batch was fetched with.
    const seen = parts.get(partition)?.high ?? 0n;
    const top = seen > high ? seen : high;
    parts.set(partition, { next, high: top, waitingSince: top > next ? stamp : null });
  }

  /**
   * A periodic look at a partition: its high watermark and, for a partition no batch has reported
   * since it was assigned, the group's committed offset (null when that was not fetched).
   */
  observed(topic: string, partition: number, high: bigint, committed: bigint | null): void {
    const parts = this.partitions(topic);
    let p = parts.get(partition);
    if (!p) {
      if (committed === null) return;
      p = { next: committed, high, waitingSince: null };
      parts.set(partition, p);
    }
    if (high > p.high) p.high = high;
    if (p.high <= p.next) p.waitingSince = null;
    else p.waitingSince ??= this.now();
  }

  /** Whether a partition has a position (if not, the periodic look needs the committed offset). */
  knows(topic: string, partition: number): boolean {
    return this.positions.get(topic)?.has(partition) ?? false;
  }

  /** After a rebalance: forgets the partitions of `topics` this process no longer owns. */
  assigned(topics: readonly string[], assignment: Readonly<Record<string, readonly number[]>>): void {
    for (const topic of topics) {
      const keep = new Set(assignment[topic] ?? []);
      const parts = this.positions.get(topic);
      if (!parts) continue;
      for (const partition of [...parts.keys()]) if (!keep.has(partition)) parts.delete(partition);
    }
  }

  rows(): LagRow[] {
    const now = this.now();
    const out: LagRow[] = [];
    for (const [topic, parts] of this.positions) {
      for (const [partition, p] of parts) {
        const records = p.high > p.next ? Number(p.high - p.next) : 0;
        const seconds = records > 0 && p.waitingSince !== null ? Math.max(0, now - p.waitingSince) / 1000 : 0;
        out.push({ topic, partition, records, seconds });
      }
    }
    return out;
  }

  private partitions(topic: string): Map<number, Position> {
    let parts = this.positions.get(topic);
    if (!parts) {
      parts = new Map();
      this.positions.set(topic, parts);
    }
    return parts;
  }
}
