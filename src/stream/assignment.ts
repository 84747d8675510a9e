/** Partitions by topic, as kafkajs reports a member's assignment at each group join. */
export type Assignment = Readonly<Record<string, readonly number[]>>;
