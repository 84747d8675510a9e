/**
 * The state a chunk of records is judged against, loaded in two round trips instead of several
 * per record (judge/chunk.ts builds it):
 *
 *  1. the chunk's membership switches are written, atomically per chat, and each chat comes back
 *     as it was just before them (StateStore.applyMembershipChanges);
 *  2. the facts of every user the chunk's records will be judged with are read (readUsers).
 *
 * As the judge goes through a chat's records in order, each record's own switch is replayed here
 * (applyMembership does not write it again), so a record is judged against its chat as that record
 * left it, exactly as if the records had been written and judged one by one. Decisions go to the
 * store and, once taken, are kept here too. Anything not loaded, and every other operation, is
 * the store's.
 *
 * A chat's state is handed out as kept here, not copied (a large chat's copy per record was a
 * good part of judging it): the chat's next record, or a decision taken on it, changes it.
 */
import type { FactsNeeded, UserFacts } from '../policy/chat-facts.js';
import type { Role } from '../policy/timeline.js';
import { FROZEN_FIELD } from './keys.js';
import { applyMembershipSwitch } from './membership.js';
import type { EpisodeRecord, FreezeRecord } from './records.js';
import { decodeEpisode, decodeFreeze, encodeRecord } from './records.js';
import type { ChatState, ChatSwitches, MembershipSwitch, SenderState, StateStore } from './store.js';

/** A chat as loaded, and its switches not replayed yet. */
interface LoadedChat {
  state: ChatState;
  pending: MembershipSwitch[];
}

export class ChunkView implements StateStore {
  private readonly chats = new Map<string, LoadedChat>();
  /** The facts of every user loaded: what `readUsers` hands out when they cover what is asked. */
  private readonly facts = new Map<string, UserFacts>();
  /**
   * Which contacts' approvals were loaded, by user (`all`, or those named; a loaded contact
   * without an approval was never approved).
   */
  private readonly loaded = new Map<string, ReadonlySet<string> | 'all'>();

  constructor(private readonly store: StateStore) {}

  /** A chat as it was before `switches`, which are already in the store. */
  addChat(chatId: string, before: ChatState, switches: readonly MembershipSwitch[]): void {
    this.chats.set(chatId, { state: before, pending: [...switches] });
  }

  /** Users' facts as read for `needs`. */
  addUsers(facts: ReadonlyMap<string, UserFacts>, needs: FactsNeeded): void {
    for (const [userId, contacts] of needs) {
      const f = facts.get(userId);
      if (!f) continue;
      this.loaded.set(userId, contacts === 'all' ? 'all' : new Set(contacts));
      this.facts.set(userId, f);
    }
  }

  /** Replays the chat's next switch, which must be this one; a chat not loaded is the store's. */
  async applyMembership(chatId: string, userIds: readonly string[], joined: boolean, at: number): Promise<ChatState> {
    const chat = this.chats.get(chatId);
    if (!chat) return this.store.applyMembership(chatId, userIds, joined, at);
    const next = chat.pending.shift();
    if (
      !next ||
      next.joined !== joined ||
      next.at !== at ||
      next.userIds.length !== userIds.length ||
      next.userIds.some((u, i) => u !== userIds[i])
    ) {
      throw new Error(`membership switch of chat ${chatId} judged out of the order in which it was written`);
    }
    applyMembershipSwitch(chat.state.members, next);
    return chat.state;
  }

  async readChat(chatId: string): Promise<ChatState> {
    return this.chats.get(chatId)?.state ?? this.store.readChat(chatId);
  }

  /** The loaded users' facts when they cover `needs` (users not asked for come along, unread); else the store's. */
  async readUsers(needs: FactsNeeded): Promise<ReadonlyMap<string, UserFacts>> {
    for (const [userId, contacts] of needs) {
      const loaded = this.loaded.get(userId);
      if (!loaded || !covers(loaded, contacts)) return this.store.readUsers(needs);
    }
    return this.facts;
  }

  async openEpisode(chatId: string, pairKey: string, record: EpisodeRecord): Promise<boolean> {
    const opened = await this.store.openEpisode(chatId, pairKey, record);
    await this.kept(chatId, opened, (s) => s.episodes.set(pairKey, decodeEpisode(encodeRecord(record))));
    return opened;
  }

  async recordFreeze(chatId: string, record: FreezeRecord): Promise<boolean> {
    const recorded = await this.store.recordFreeze(chatId, record);
    await this.kept(chatId, recorded, (s) => (s.frozen = decodeFreeze(encodeRecord(record))));
    return recorded;
  }

  async swapDecision(chatId: string, field: string, expected: string, next: string | null): Promise<boolean> {
    const swapped = await this.store.swapDecision(chatId, field, expected, next);
    await this.kept(chatId, swapped, (s) => {
      if (field === FROZEN_FIELD) s.frozen = next === null ? null : decodeFreeze(next);
      else if (next === null) s.episodes.delete(field);
      else s.episodes.set(field, decodeEpisode(next));
    });
    return swapped;
  }

  /**
   * Keeps a decision the store took; when it refused one (another judge changed the chat's
   * decisions since they were loaded), loads the chat's decisions again.
   */
  private async kept(chatId: string, taken: boolean, apply: (s: ChatState) => void): Promise<void> {
    const chat = this.chats.get(chatId);
    if (!chat) return;
    if (taken) {
      apply(chat.state);
      return;
    }
    const fresh = await this.store.readChat(chatId);
    chat.state.episodes = fresh.episodes;
    chat.state.frozen = fresh.frozen;
  }

  // Everything else is the store's.
  applyRegistration(userId: string, role: Role, at: number): Promise<void> {
    return this.store.applyRegistration(userId, role, at);
  }
  applyApproval(childId: string, contactId: string, approved: boolean, at: number): Promise<void> {
    return this.store.applyApproval(childId, contactId, approved, at);
  }
  applyMembershipChanges(chats: readonly ChatSwitches[]): Promise<ChatState[]> {
    return this.store.applyMembershipChanges(chats);
  }
  chatsOf(userId: string): Promise<string[]> {
    return this.store.chatsOf(userId);
  }
  readSender(chatId: string, userId: string): Promise<SenderState> {
    return this.store.readSender(chatId, userId);
  }
  readSenders(messages: ReadonlyArray<{ chatId: string; userId: string }>): Promise<SenderState[]> {
    return this.store.readSenders(messages);
  }
  stateIntact(): Promise<boolean> {
    return this.store.stateIntact();
  }
  markStateCreated(now: number): Promise<void> {
    return this.store.markStateCreated(now);
  }
  markApplied(topic: string, nextOffsets: ReadonlyMap<number, string>): Promise<void> {
    return this.store.markApplied(topic, nextOffsets);
  }
  appliedOffsets(topic: string): Promise<Map<number, bigint>> {
    return this.store.appliedOffsets(topic);
  }
}

/** Whether contacts loaded cover contacts needed. */
function covers(loaded: ReadonlySet<string> | 'all', needed: readonly string[] | 'all'): boolean {
  if (loaded === 'all') return true;
  return needed !== 'all' && needed.every((c) => loaded.has(c));
}
