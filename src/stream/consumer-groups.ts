/**
 * pairguard's consumer groups: one per input stream, so each can wait for another without
 * blocking it (see monitor.ts). Everything that needs to know the groups asks here: the monitor
 * subscribing, state-loss recovery rewinding them, tests and the benchmark waiting for idleness.
 */
import type { Admin } from 'kafkajs';
import type { Config } from '../config.js';

export type ConsumerName = 'approvals' | 'membership' | 'messages';

/** One consumer group and the topics its consumer reads. */
export interface ConsumerGroup {
  /** Metric label and log field. */
  name: ConsumerName;
  groupId: string;
  topics: string[];
}

export function consumerGroups(config: Pick<Config, 'groupId' | 'topics'>): ConsumerGroup[] {
  return [
    { name: 'approvals', groupId: `${config.groupId}.approvals`, topics: [config.topics.approvals] },
    // Reviewers' unfreezes ride with membership: both change which chats can be frozen.
    { name: 'membership', groupId: config.groupId, topics: [config.topics.membership, config.topics.control] },
    { name: 'messages', groupId: `${config.groupId}.messages`, topics: [config.topics.messages] },
  ];
}

/** Input records pairguard's groups have not committed yet; 0 means the monitor is idle. */
export async function recordsNotCommitted(admin: Admin, config: Pick<Config, 'groupId' | 'topics'>): Promise<bigint> {
  let behind = 0n;
  for (const g of consumerGroups(config)) {
    for (const t of await admin.fetchOffsets({ groupId: g.groupId, topics: g.topics })) {
      for (const h of await admin.fetchTopicOffsets(t.topic)) {
        const c = t.partitions.find((p) => p.partition === h.partition);
        const at = c && c.offset !== '-1' ? BigInt(c.offset) : BigInt(h.low);
        if (at < BigInt(h.high)) behind += BigInt(h.high) - at;
      }
    }
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
    const ends = await admin.fetchTopicOffsets(t.topic);
    const behind = ends.some((h) => {
      const c = t.partitions.find((p) => p.partition === h.partition);
      return (c && c.offset !== '-1' ? BigInt(c.offset) : BigInt(h.low)) < BigInt(h.high);
    });
    if (behind) out.push(t.topic);
  }
  return out;
}
