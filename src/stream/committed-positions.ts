/**
 * Where a group stands on the partitions this process owns: committed offset and high watermark,
 * the evidence behind liveness (observability/liveness.ts). One OffsetFetch and one ListOffsets
 * per topic. Without an assignment (a consumer out of its group), every partition of `topics`:
 * whoever owns them now, the group's commits say whether anyone judges them.
 */
import type { Admin } from 'kafkajs';
import type { Assignment } from './assignment.js';

/** One owned partition as its consumer group stands. */
export interface PartitionPosition {
  /** Topic name. */
  topic: string;
  /** Partition number. */
  partition: number;
  /** The group's committed offset (the low watermark when nothing is committed). */
  committed: bigint;
  /** The partition's high watermark. */
  high: bigint;
}

export async function committedPositions(
  admin: Admin,
  groupId: string,
  topics: readonly string[],
  assignment: Assignment | null,
): Promise<PartitionPosition[]> {
  const owned = topics.filter((t) => assignment === null || (assignment[t]?.length ?? 0) > 0);
  if (owned.length === 0) return [];
  const committed = await admin.fetchOffsets({ groupId, topics: owned });
  const out: PartitionPosition[] = [];
  for (const topic of owned) {
    const ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, o]));
    const commits = new Map(
      (committed.find((t) => t.topic === topic)?.partitions ?? []).map((p) => [p.partition, p.offset]),
    );
    for (const partition of assignment?.[topic] ?? [...ends.keys()]) {
      const end = ends.get(partition);
      if (!end) continue;
      const c = commits.get(partition);
      // Nothing committed yet: the group starts at the low watermark.
      out.push({
        topic,
        partition,
        committed: c === undefined || c === '-1' ? BigInt(end.low) : BigInt(c),
        high: BigInt(end.high),
      });
    }
  }
  return out;
}
