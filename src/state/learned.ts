/**
 * What pairguard had already written when Redis lost its state, learned back from its own output
 * topics before the rebuild re-judges history (monitor/state-guard.ts), so that the rebuild
 * re-decides without writing again: an alert or freeze whose alertId is on its topic is marked
 * sent instead, a freeze on the topic spends no freeze budget, and a freeze a reviewer cleared is
 * not taken again. The record serves until the rebuild has caught up (`LearningBound`).
 */

/** One record read back from the alerts or the control topic. */
export type WrittenOutput =
  /** An alert on the alerts topic. */
  | { kind: 'alert'; chatId: string; alertId: string }
  /** pairguard's `chat.freeze` on the control topic, where it was written and when it was requested (ms). */
  | { kind: 'freeze'; chatId: string; alertId: string; partition: number; offset: string; requestedAt: number }
  /** A reviewer's `chat.unfrozen` on the control topic, where it was written and its moment (ms). */
  | { kind: 'unfreeze'; chatId: string; partition: number; offset: string; at: number };

/** An output about to be written, as the learned record knows it. */
export interface OutputIdentity {
  /** An alert or a freeze command. */
  kind: 'alert' | 'freeze';
  /** Its chat. */
  chatId: string;
  /** Its deterministic alertId (a freeze's names the alert that caused it). */
  alertId: string;
}

/** Where a freeze was written. */
export interface LearnedFreeze {
  /** Control-topic partition. */
  partition: number;
  /** Its offset there. */
  offset: bigint;
  /** Its `requestedAt` (ms). */
  requestedAt: number;
}

/** The reviewers' unfreezes of a chat on one control-topic partition. */
export interface LearnedUnfreezes {
  /** Offset of the last of them. */
  offset: bigint;
  /** The latest moment among them (ms). */
  at: number;
}

/** What was learned about one chat's freezes. */
export interface LearnedChat {
  /** Freezes written, by alertId. */
  freezes: ReadonlyMap<string, LearnedFreeze>;
  /** Unfreezes, by control-topic partition. */
  unfreezes: ReadonlyMap<number, LearnedUnfreezes>;
}

export const NOTHING_LEARNED: LearnedChat = { freezes: new Map(), unfreezes: new Map() };

/**
 * What a freeze the judge is about to take is, given what was learned:
 *  - `write`: nothing learned about it; take it as ever (within the breaker's budget);
 *  - `written`: it is on the control topic and no reviewer cleared it; record it again, without
 *    spending budget (the publisher does not write it again);
 *  - `cleared`: a reviewer unfroze the chat after it was written (or, never written, after its
 *    violation began); do not take it, and the chat is not believed frozen.
 */
export type FreezeVerdict = 'write' | 'written' | 'cleared';

/** The freeze asked about: what triggered it, and whether that record was judged before the state was lost. */
export interface FreezeAsked {
  /** Its alertId. */
  alertId: string;
  /** The moment its violation began (ms). */
  triggerAt: number;
  /** Its trigger lies before the bound: judged once already, before the state was lost. */
  replayed: boolean;
}

export function freezeVerdict(chat: LearnedChat, asked: FreezeAsked): FreezeVerdict {
  const written = chat.freezes.get(asked.alertId);
  if (written) return clearedAfter(written, chat.unfreezes) ? 'cleared' : 'written';
  // Judged before and never frozen for, with a reviewer's unfreeze dated after it began: the chat
  // was frozen for an earlier violation then, and that unfreeze cleared this one too (the live
  // monitor freezes again only for violations newer than an unfreeze, judge.ts judgeUnfreeze).
  if (asked.replayed) for (const u of chat.unfreezes.values()) if (u.at >= asked.triggerAt) return 'cleared';
  return 'write';
}

/**
 * Whether a reviewer unfroze the chat after this freeze was written: later on its partition (the
 * order the platform acted on them in), or, on another partition, no earlier than it was requested.
 */
export function clearedAfter(freeze: LearnedFreeze, unfreezes: ReadonlyMap<number, LearnedUnfreezes>): boolean {
  for (const [partition, u] of unfreezes) {
    if (partition === freeze.partition ? u.offset > freeze.offset : u.at >= freeze.requestedAt) return true;
  }
  return false;
}

/** One partition's end offset when the groups were rewound. */
export interface PartitionEnd {
  partition: number;
  /** The read-committed end offset. */
  offset: string;
}

/**
 * Until when the learned record serves: the end offsets of every group's input topics when they
 * were rewound. Records before them were judged before the state was lost; once every group's
 * committed offsets pass them, every such record has been judged again and its outputs settled,
 * and nothing consults the record any more.
 */
export interface LearningBound {
  /** When the outputs were learned (ms). */
  learnedAt: number;
  /** Each group's topics and their ends. */
  groups: Array<{ groupId: string; topics: Array<{ topic: string; ends: PartitionEnd[] }> }>;
}

/** Whether a record lies before the bound on its topic's partition: it was there when the groups were rewound. */
export function beforeBound(bound: LearningBound, topic: string, partition: number, offset: number | string): boolean {
  for (const g of bound.groups)
    for (const t of g.topics) {
      if (t.topic !== topic) continue;
      const end = t.ends.find((e) => e.partition === partition);
      if (end) return BigInt(offset) < BigInt(end.offset);
    }
  return false;
}

/** The learned record as judging consults it (state/learned-gate.ts). */
export interface LearnedDecisions {
  /** What was learned about a chat's freezes and unfreezes. */
  learnedChat(chatId: string): Promise<LearnedChat>;
  /** Whether the record at this position was judged before the state was lost. */
  replayed(topic: string, partition: number, offset: number | string): boolean;
}

/** Committed offsets by group and topic, by partition (a partition never committed is absent). */
export type CommittedOffsets = (groupId: string, topic: string) => ReadonlyMap<number, bigint>;

/** Whether every group's committed offsets have reached the bound's ends. */
export function boundPassed(bound: LearningBound, committed: CommittedOffsets): boolean {
  return bound.groups.every(({ groupId, topics }) =>
    topics.every(({ topic, ends }) => {
      const at = committed(groupId, topic);
      return ends.every((e) => BigInt(e.offset) === 0n || (at.get(e.partition) ?? -1n) >= BigInt(e.offset));
    }),
  );
}
