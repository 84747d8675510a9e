/**
 * A chunk of membership records, prepared for judging: a write-through view of the store. Loading
 * it writes the chunk's switches (atomically per chat, each chat read back as it was just before
 * them) and reads the users' facts the chunk needs: two round trips instead of several per record.
 *
 * As the judge goes through a chat's records in order, each record's switch is replayed here, not
 * written again, so a record is judged against its chat as that record left it, exactly as if the
 * records had been written and judged one by one. Decisions go to the store and, once taken, are
 * kept here too; a refused one reloads the chat's decisions. What was not loaded is the store's.
 *
 * A chat's state is handed out as kept here, not copied (a large chat's copy per record is costly):
 * the chat's next record, or a decision taken on it, changes it.
 */
import type { FactsNeeded, UserFacts } from '../policy/chat-facts.js';
import type { Moment } from '../policy/timeline.js';
import { compareMoments } from '../policy/timeline.js';
import { written } from './decisions.js';
import { applyMembershipSwitch } from './membership.js';
import type { EpisodeRecord, FreezeRecord, Stored } from './records.js';
import type {
  ChatFactStore,
  ChatState,
  ChatSwitches,
  ChunkFactStore,
  DecisionStore,
  MembershipSwitch,
} from './store.js';

/** What a prepared chunk writes through to: the store's facts for a chunk and for a chat, and its decisions. */
export type ChunkBacking = ChunkFactStore & ChatFactStore & DecisionStore;

/** A chat as loaded, and its switches not replayed yet. */
interface LoadedChat {
  state: ChatState;
  pending: MembershipSwitch[];
}

export class PreparedChunk implements ChatFactStore, DecisionStore {
  private readonly chats = new Map<string, LoadedChat>();
  /** The facts of every user loaded: what `readUsers` hands out when they cover what is asked. */
  private readonly facts = new Map<string, UserFacts>();
  /** Contacts whose approvals were loaded, by user (`all`, or those named; a loaded contact without one was never approved). */
  private readonly loaded = new Map<string, ReadonlySet<string> | 'all'>();

  private constructor(private readonly store: ChunkBacking) {}

  /**
   * Writes `chats`' switches to `store` and loads the facts `needsOf` asks for, given each chat as it
   * was before its switches: one round trip each. With `written`, the switches are in the store
   * already and each chat is read as it is.
   */
  static async load(
    store: ChunkBacking,
    chats: readonly ChatSwitches[],
    needsOf: (before: readonly ChatState[]) => FactsNeeded,
    { written = false }: { written?: boolean } = {},
  ): Promise<PreparedChunk> {
    // Written already (judge/chunk.ts, writeChunkMembership): each chat is read as it is now, its
    // switches in it; replaying them on it is a merge of what it holds, which changes nothing.
    const before = written
      ? await Promise.all(chats.map(({ chatId }) => store.readChat(chatId)))
      : await store.applyMembershipChanges(chats);
    const chunk = new PreparedChunk(store);
    chats.forEach(({ chatId, switches }, i) => chunk.chats.set(chatId, { state: before[i]!, pending: [...switches] }));
    const needs = needsOf(before);
    const facts = await store.readUsers(needs);
    for (const [userId, contacts] of needs) {
      const f = facts.get(userId);
      if (!f) continue;
      chunk.loaded.set(userId, contacts === 'all' ? 'all' : new Set(contacts));
      chunk.facts.set(userId, f);
    }
    return chunk;
  }

  /** Replays the chat's next switch, which must be this one; a chat not loaded is the store's. */
  async applyMembership(chatId: string, userIds: readonly string[], joined: boolean, at: Moment): Promise<ChatState> {
    const chat = this.chats.get(chatId);
    if (!chat) return this.store.applyMembership(chatId, userIds, joined, at);
    const next = chat.pending.shift();
    if (
      !next ||
      next.joined !== joined ||
      compareMoments(next.at, at) !== 0 ||
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
    await this.kept(chatId, opened, (s) => s.episodes.set(pairKey, written(record)));
    return opened;
  }

  async closeEpisode(chatId: string, pairKey: string, episode: Stored<EpisodeRecord>): Promise<boolean> {
    const closed = await this.store.closeEpisode(chatId, pairKey, episode);
    await this.kept(chatId, closed, (s) => s.episodes.delete(pairKey));
    return closed;
  }

  async recordFreeze(chatId: string, record: FreezeRecord): Promise<boolean> {
    const recorded = await this.store.recordFreeze(chatId, record);
    await this.kept(chatId, recorded, (s) => (s.frozen = written(record)));
    return recorded;
  }

  async liftFreeze(chatId: string, freeze: Stored<FreezeRecord>): Promise<boolean> {
    const lifted = await this.store.liftFreeze(chatId, freeze);
    await this.kept(chatId, lifted, (s) => (s.frozen = null));
    return lifted;
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
}

/** Whether contacts loaded cover contacts needed. */
function covers(loaded: ReadonlySet<string> | 'all', needed: readonly string[] | 'all'): boolean {
  if (loaded === 'all') return true;
  return needed !== 'all' && needed.every((c) => loaded.has(c));
}
