/**
 * The state port: only the operations judging needs. The Redis adapter implements it; unit tests
 * of the judge can implement it in memory.
 */
import type { FactsNeeded, UserFacts } from '../policy/chat-facts.js';
import type { Role, Toggle } from '../policy/timeline.js';
import type { EpisodeRecord, FreezeRecord, Stored } from './records.js';

/** A chat's membership histories and pairguard's decisions about it. */
export interface ChatState {
  /** Membership history by user id. */
  members: Map<string, Toggle>;
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
  /** When (ms). */
  at: number;
}

/** One chat's membership switches from a chunk of records, in record order. */
export interface ChatSwitches {
  chatId: string;
  switches: readonly MembershipSwitch[];
}

/** What the message fast path needs: is the sender a member, and is the chat frozen. */
export interface SenderState {
  membership: Toggle;
  frozen: Stored<FreezeRecord> | null;
}

export interface StateStore {
  applyRegistration(userId: string, role: Role, at: number): Promise<void>;
  applyApproval(childId: string, contactId: string, approved: boolean, at: number): Promise<void>;
  /**
   * Joins (or leaves) users to a chat at a moment; joining also indexes the chat under each user.
   * Returns the chat as read after the write, in the same round trip.
   */
  applyMembership(chatId: string, userIds: readonly string[], joined: boolean, at: number): Promise<ChatState>;
  /**
   * Writes the membership switches of many chats in one round trip, atomically per chat and in
   * order within a chat, and indexes the chats under the users who join. Returns each chat as it
   * was just before its switches (in the order given), so that replaying them
   * (`applyMembershipSwitch`) gives the chat as each switch left it.
   */
  applyMembershipChanges(chats: readonly ChatSwitches[]): Promise<ChatState[]>;

  /** Chats that may hold the user (a superset: callers recheck membership). */
  chatsOf(userId: string): Promise<string[]>;
  readChat(chatId: string): Promise<ChatState>;
  /** One user's membership history in a chat and the chat's freeze, for the message fast path. */
  readSender(chatId: string, userId: string): Promise<SenderState>;
  /** `readSender` for many messages in one round trip. */
  readSenders(messages: ReadonlyArray<{ chatId: string; userId: string }>): Promise<SenderState[]>;
  /** Roles and the named approval histories of users. */
  readUsers(needs: FactsNeeded): Promise<ReadonlyMap<string, UserFacts>>;

  /** Opens an episode unless one is open for the pair; true when this call opened it. */
  openEpisode(chatId: string, pairKey: string, record: EpisodeRecord): Promise<boolean>;
  /** Records a freeze unless one is in force; true when this call recorded it. */
  recordFreeze(chatId: string, record: FreezeRecord): Promise<boolean>;
  /** Replaces an episode or freeze field if it still holds `expected`; `next` null deletes it. */
  swapDecision(chatId: string, field: string, expected: string, next: string | null): Promise<boolean>;

  /** Whether the state marker is present (see keys.ts). */
  stateIntact(): Promise<boolean>;
  /** Writes the state marker if absent. */
  markStateCreated(now: number): Promise<void>;

  /** Raises the applied-offset marks of a topic's partitions (next offset to apply). */
  markApplied(topic: string, nextOffsets: ReadonlyMap<number, string>): Promise<void>;
  appliedOffsets(topic: string): Promise<Map<number, bigint>>;
}
