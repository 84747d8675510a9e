/**
 * The periodic look behind the lag of partitions no batch reports on: kafkajs calls the batch
 * handler only when records arrive, so an idle partition, or one stuck behind a wait, would keep
 * its last lag forever. One ListOffsets request per owned topic; the group's committed offsets
 * only for partitions no batch has reported since they were assigned (just after a join).
 */
import type { Admin } from 'kafkajs';
import type { Assignment } from './assignment.js';

/** Where the lag gauges keep each partition's position (observability/consumer-lag.ts). */
export interface LagPositions {
  /** Whether a partition has a position (if not, the look needs the group's committed offset). */
  knows(topic: string, partition: number): boolean;
  /** A look at a partition: its high watermark and, when fetched, the group's committed offset. */
  observed(topic: string, partition: number, high: bigint, committed: bigint | null): void;
}

/** A consumer group and the partitions this process owns in it. */
export interface OwnedPartitions {
  /** Consumer group id. */
  groupId: string;
  /** Partitions by topic, from the last group join. */
  assignment: Assignment;
}

export async function refreshLag(admin: Admin, lag: LagPositions, groups: readonly OwnedPartitions[]): Promise<void> {
  for (const { groupId, assignment } of groups) {
    for (const [topic, partitions] of Object.entries(assignment)) {
      if (partitions.length === 0) continue;
      const offsets = await admin.fetchTopicOffsets(topic);
      const byPartition = new Map(offsets.map((o) => [o.partition, o]));
      let committed: Map<number, string> | null = null;
      if (partitions.some((p) => !lag.knows(topic, p))) {
        const [fetched] = await admin.fetchOffsets({ groupId, topics: [topic] });
        committed = new Map((fetched?.partitions ?? []).map((p) => [p.partition, p.offset]));
      }
      for (const partition of partitions) {
        const o = byPartition.get(partition);
        if (!o) continue;
        const c = committed?.get(partition);
        // No commit yet: the group reads from the beginning, which is the low watermark.
        const position = committed === null ? null : c === undefined || c === '-1' ? BigInt(o.low) : BigInt(c);
        lag.observed(topic, partition, BigInt(o.high), position);
      }
    }
  }
}
