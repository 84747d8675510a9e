/**
 * pairguard's consumer groups: one per input stream, so each can wait for another without
 * blocking it (see monitor.ts), and the ordering barrier between them: which consumer waits for
 * which topics (contract §1, stream/applied-barrier.ts). Everything that needs to know the groups
 * asks here: the monitor subscribing and waiting, state-loss recovery rewinding them, tests and
 * the benchmark waiting for idleness.
 */
import type { Admin } from 'kafkajs';
import type { Config } from '../config.js';
import { recordsBehind } from './records-behind.js';

export type ConsumerName = 'approvals' | 'membership' | 'messages';

/** One consumer group and the topics its consumer reads. */
export interface ConsumerGroup {
  /** Metric label and log field. */
  name: ConsumerName;
  /** Consumer group id. */
  groupId: string;
  /** Topics its consumer subscribes to. */
  topics: string[];
  /** Topics whose facts its judging waits for (the event-time frontier, stream/frontier.ts). */
  waitsFor: string[];
}

export function consumerGroups(config: Pick<Config, 'groupId' | 'topics'>): ConsumerGroup[] {
  const { approvals, membership, messages, control } = config.topics;
  // Every judge waits at the event-time frontier for the facts of every input topic (stream/frontier.ts).
  const inputs = [approvals, membership, messages];
  return [
    { name: 'approvals', groupId: `${config.groupId}.approvals`, topics: [approvals], waitsFor: inputs },
    // Reviewers' unfreezes ride with membership: both change which chats can be frozen.
    { name: 'membership', groupId: config.groupId, topics: [membership, control], waitsFor: inputs },
    { name: 'messages', groupId: `${config.groupId}.messages`, topics: [messages], waitsFor: inputs },
  ];
}

/** Each consumer's barrier topics, by name (see ConsumerGroup.waitsFor). */
export function barrierTopics(
  groups: ReadonlyArray<{ name: ConsumerName; waitsFor: readonly string[] }>,
): Record<ConsumerName, readonly string[]> {
  const byName = {} as Record<ConsumerName, readonly string[]>;
  for (const g of groups) byName[g.name] = g.waitsFor;
  return byName;
}

/** A group's committed offsets on one topic; a partition never committed (-1) has none. */
function committed(partitions: ReadonlyArray<{ partition: number; offset: string }>): Map<number, bigint> {
  return new Map(partitions.flatMap((p) => (p.offset === '-1' ? [] : [[p.partition, BigInt(p.offset)] as const])));
}

/** Input records pairguard's groups have not committed yet; 0 means the monitor is idle. */
export async function recordsNotCommitted(admin: Admin, config: Pick<Config, 'groupId' | 'topics'>): Promise<bigint> {
  let behind = 0n;
  for (const g of consumerGroups(config)) {
    for (const t of await admin.fetchOffsets({ groupId: g.groupId, topics: g.topics }))
      behind += recordsBehind(await admin.fetchTopicOffsets(t.topic), committed(t.partitions));
  }
  return behind;
}

/** Those of a group's `topics` with records its committed offsets have not passed. */
export async function topicsWithUncommitted(
  admin: Admin,
  groupId: string,
  topics: readonly string[],
): Promise<string[]> {
  const out: string[] = [];
  for (const t of await admin.fetchOffsets({ groupId, topics: [...topics] })) {
    if (recordsBehind(await admin.fetchTopicOffsets(t.topic), committed(t.partitions)) > 0n) out.push(t.topic);
  }
  return out;
}
