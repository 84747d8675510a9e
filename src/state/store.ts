/**
 * The state ports, in domain verbs and split by who uses them: facts (judge, chunk preparation,
 * the message fast path), decisions (judge; the publisher marks them sent) and marks (the stream's
 * applied offsets and the state marker), and the outputs learned back from the topics while lost
 * state is rebuilt (state/learned.ts). The Redis adapter and the in-memory store implement them
 * all (`StateStore`); a prepared chunk serves judging's (`ChatFactStore`, `DecisionStore`).
 */
import type { FactsNeeded, UserFacts } from '../policy/chat-facts.js';
import type { FactHistory, Moment, Role } from '../policy/timeline.js';
import type { LearnedChat, LearningBound, OutputIdentity, WrittenOutput } from './learned.js';
import type { EpisodeRecord, FreezeRecord, SentMark, Stored } from './records.js';

/** A chat's membership histories and pairguard's decisions about it. */
export interface ChatState {
  /** Membership history by user id. */
  members: Map<string, FactHistory>;
  /** Open episodes by pair key. */
  episodes: Map<string, Stored<EpisodeRecord>>;
  /** The freeze in force, if pairguard requested one and nobody unfroze the chat since. */
  frozen: Stored<FreezeRecord> | null;
}

/** Users joining or leaving a chat at one moment. */
export interface MembershipSwitch {
  /** The users, all switched the same way. */
  userIds: readonly string[];
  /** True when they join, false when they leave. */
  joined: boolean;
  /** When: the record's stamp (a plain millisecond in tests). */
  at: Moment;
}

/** One chat's membership switches from a chunk of records, in record order. */
export interface ChatSwitches {
  /** The chat. */
  chatId: string;
  /** Its switches, in record order. */
  switches: readonly MembershipSwitch[];
}

/** What the message fast path needs: is the sender a member, and is the chat frozen. */
export interface SenderState {
  /** The sender's membership history in the chat. */
  membership: FactHistory;
  /** The chat's freeze in force, if any. */
  frozen: Stored<FreezeRecord> | null;
}

/** What judging one chat reads, and the membership write it starts from: all a prepared chunk serves. */
export interface ChatFactStore {
  /**
   * Joins (or leaves) users to a chat at a moment; joining also indexes the chat under each user.
   * Returns the chat as that switch left it.
   */
  applyMembership(chatId: string, userIds: readonly string[], joined: boolean, at: Moment): Promise<ChatState>;
  /** A chat's members and decisions. */
  readChat(chatId: string): Promise<ChatState>;
  /** Roles and the named approval histories of users. */
  readUsers(needs: FactsNeeded): Promise<ReadonlyMap<string, UserFacts>>;
}

/** The facts the judge writes and reads (judge/judge.ts). Every write is a merge: order does not matter. */
export interface FactStore extends ChatFactStore {
  /** Merges a registration into the user's role history. */
  applyRegistration(userId: string, role: Role, at: Moment): Promise<void>;
  /** Merges an approval (or revocation) into the child's approval history of the contact. */
  applyApproval(childId: string, contactId: string, approved: boolean, at: Moment): Promise<void>;
  /** Chats that may hold the user (a superset: callers recheck membership). */
  chatsOf(userId: string): Promise<string[]>;
  /** One user's membership history in a chat and the chat's freeze, for the message fast path. */
  readSender(chatId: string, userId: string): Promise<SenderState>;
}

/** What preparing a chunk of membership records writes and reads (judge/chunk.ts), in two round trips. */
export interface ChunkFactStore {
  /**
   * Writes the membership switches of many chats in one round trip, atomically per chat and in
   * order within a chat, and indexes the chats under the users who join. Returns each chat as it
   * was just before its switches (in the order given), so that replaying them
   * (`applyMembershipSwitch`) gives the chat as each switch left it.
   */
  applyMembershipChanges(chats: readonly ChatSwitches[]): Promise<ChatState[]>;
  /** Roles and the named approval histories of users. */
  readUsers(needs: FactsNeeded): Promise<ReadonlyMap<string, UserFacts>>;
}

/** The message fast path's read (stream/batch-handler.ts). */
export interface SenderReads {
  /** `readSender` for many messages in one round trip, in the order given. */
  readSenders(messages: ReadonlyArray<{ chatId: string; userId: string }>): Promise<SenderState[]>;
}

/**
 * The judge's decisions about a chat. Each is atomic and refused when the chat's decisions changed
 * since they were read, so two judges never take the same decision twice.
 */
export interface DecisionStore {
  /** Opens an episode unless one is open for the pair; true when this call opened it. */
  openEpisode(chatId: string, pairKey: string, record: EpisodeRecord): Promise<boolean>;
  /** Closes the pair's episode if it is still `episode`; true when this call closed it. */
  closeEpisode(chatId: string, pairKey: string, episode: Stored<EpisodeRecord>): Promise<boolean>;
  /** Records a freeze unless one is in force; true when this call recorded it. */
  recordFreeze(chatId: string, record: FreezeRecord): Promise<boolean>;
  /** Lifts the freeze in force if it is still `freeze`; true when this call lifted it. */
  liftFreeze(chatId: string, freeze: Stored<FreezeRecord>): Promise<boolean>;
}

/** Marking decisions as sent once their outputs are written (stream/publisher.ts). */
export interface SentMarks {
  /** Applies the mark if the decision is still as decided; true when this call applied it. */
  markSent(mark: SentMark): Promise<boolean>;
}

/** How far a partition's facts are in state: the next offset not applied, and the latest moment applied (-Infinity: none). */
export interface AppliedPosition {
  next: bigint;
  at: number;
}

/** What the stream records beside the facts: applied offsets (the ordering barrier) and the state marker. */
export interface MarkStore {
  /** Whether the state marker is present (docs/state-layout.md): its absence means the state was lost. */
  stateIntact(): Promise<boolean>;
  /** Writes the state marker if absent. */
  markStateCreated(now: number): Promise<void>;
  /**
   * Raises the applied marks of a topic's partitions (next offset whose facts are not in state yet,
   * and the latest moment among those that are); never lowers one.
   */
  markApplied(
    topic: string,
    nextOffsets: ReadonlyMap<number, string>,
    moments?: ReadonlyMap<number, number>,
  ): Promise<void>;
  /** The applied-offset marks of a topic, by partition. */
  appliedOffsets(topic: string): Promise<Map<number, bigint>>;
  /** The applied marks of a topic with their moments, by partition (a partition never marked has none). */
  appliedPositions(topic: string): Promise<Map<number, AppliedPosition>>;
  /** Raises the moment judging has passed the frontier with (stream/frontier.ts). */
  markJudged(at: number): Promise<void>;
  /** The latest moment judging passed the frontier with; -Infinity when none. */
  judgedThrough(): Promise<number>;
}

/** What the publisher and the judge ask of the outputs learned back from the topics (state/learned-gate.ts). */
export interface LearnedReads {
  /** For each output, in the order given: whether it is on its topic already. */
  alreadyWritten(outputs: readonly OutputIdentity[]): Promise<boolean[]>;
  /** The freezes and reviewers' unfreezes learned for a chat; none when nothing was learned. */
  learnedChat(chatId: string): Promise<LearnedChat>;
}

/**
 * The outputs pairguard wrote before its state was lost, learned from its topics during a rebuild
 * (monitor/state-guard.ts), and the bound until which they serve.
 */
export interface LearnedStore extends LearnedReads {
  /** Records outputs read back; merges, so learning them twice or in any order gives the same record. */
  learnOutputs(outputs: readonly WrittenOutput[]): Promise<void>;
  /** Writes the bound (replacing one written before): the learned record is complete. */
  markLearned(bound: LearningBound): Promise<void>;
  /** The bound, while a learned record is kept; null when there is none. */
  learningBound(): Promise<LearningBound | null>;
  /** Drops the learned record, the bound last, so a drop cut short is done again. */
  forgetLearned(): Promise<void>;
}

/** Every port: what the Redis adapter and the in-memory store implement. */
export type StateStore = FactStore &
  ChunkFactStore &
  SenderReads &
  DecisionStore &
  SentMarks &
  MarkStore &
  LearnedStore;
