/**
 * StateStore on Redis (a single node today; every command touches one hash-tagged key, except the
 * frozen-chats index, see keys.ts). Every operation is one round trip, timed through `observe`.
 *
 * Operations that read or write several keys issue their commands together rather than as an
 * explicit pipeline: with the client's auto-pipelining, every command issued in the same tick,
 * by this operation and by the others judged concurrently, leaves in one socket write.
 */
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import type { UserFacts } from '../policy/chat-facts.js';
import type { Role, Toggle } from '../policy/timeline.js';
import { decodeRole, decodeToggle } from '../policy/timeline.js';
import { FROZEN_FIELD, Keys, ROLE_FIELD, approvalField } from './keys.js';
import type { EpisodeRecord, FreezeRecord } from './records.js';
import { decodeEpisode, decodeFreeze, encodeRecord } from './records.js';
import { defineScripts } from './scripts.js';
import type { ChatState, SenderState, StateStore } from './store.js';

/** Receives each operation's round trip; the operation is a method name, never a key or an id. */
export type OperationObserver = (operation: string, seconds: number) => void;

export class RedisStateStore implements StateStore {
  private readonly redis: Redis;
  readonly keys: Keys;

  constructor(
    redis: Redis,
    prefix: string,
    private readonly observe: OperationObserver = () => undefined,
  ) {
    this.redis = defineScripts(redis);
    this.keys = new Keys(prefix);
  }

  /** Times one round trip, failed ones included: a slow failure is what on-call needs to see. */
  private async timed<T>(operation: string, run: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await run();
    } finally {
      this.observe(operation, (performance.now() - start) / 1000);
    }
  }

  /** PING, for health checks. */
  async ping(): Promise<void> {
    await this.timed('ping', () => this.redis.ping());
  }

  /** How many chats have a freeze in force (SCARD of the index kept by the freeze scripts). */
  async frozenChats(): Promise<number> {
    return this.timed('frozenChats', () => this.redis.scard(this.keys.frozenChats()));
  }

  applyRegistration(userId: string, role: Role, at: number): Promise<void> {
    return this.timed('applyRegistration', async () => {
      await this.redis.pgRole(this.keys.user(userId), ROLE_FIELD, role, at);
    });
  }

  applyApproval(childId: string, contactId: string, approved: boolean, at: number): Promise<void> {
    return this.timed('applyApproval', async () => {
      await this.redis.pgToggle(this.keys.user(childId), approved ? '1' : '0', at, approvalField(contactId));
    });
  }

  applyMembership(chatId: string, userIds: readonly string[], joined: boolean, at: number): Promise<void> {
    return this.timed('applyMembership', async () => {
      // The toggles first: whoever reads the index afterwards finds the membership already there.
      // One connection runs commands in the order they were issued.
      const toggled = this.redis.pgToggle(this.keys.members(chatId), joined ? '1' : '0', at, ...userIds);
      const indexed = joined ? userIds.map((u) => this.redis.sadd(this.keys.userChats(u), chatId)) : [];
      await Promise.all([toggled, ...indexed]);
    });
  }

  chatsOf(userId: string): Promise<string[]> {
    return this.timed('chatsOf', () => this.redis.smembers(this.keys.userChats(userId)));
  }

  readChat(chatId: string): Promise<ChatState> {
    return this.timed('readChat', async () => {
      const [members, decisions] = await Promise.all([this.redis.hgetall(this.keys.members(chatId)), this.redis.hgetall(this.keys.episodes(chatId))]);
      const state: ChatState = { members: new Map(), episodes: new Map(), frozen: null };
      for (const [u, v] of Object.entries(members)) state.members.set(u, decodeToggle(v));
      for (const [field, raw] of Object.entries(decisions)) {
        if (field === FROZEN_FIELD) state.frozen = decodeFreeze(raw);
        else state.episodes.set(field, decodeEpisode(raw));
      }
      return state;
    });
  }

  readSender(chatId: string, userId: string): Promise<SenderState> {
    return this.readSenders([{ chatId, userId }]).then((states) => states[0]!);
  }

  readSenders(messages: ReadonlyArray<{ chatId: string; userId: string }>): Promise<SenderState[]> {
    if (messages.length === 0) return Promise.resolve([]);
    return this.timed('readSenders', async () => {
      // A batch holds runs of messages in the same chats from the same senders: each chat's freeze
      // and each sender's membership is read once.
      const members = new Map<string, number>();
      const memberReads: Array<Promise<string | null>> = [];
      const chats = new Map<string, number>();
      const freezeReads: Array<Promise<string | null>> = [];
      const refs = messages.map(({ chatId, userId }) => {
        const member = `${chatId}\u0000${userId}`;
        let m = members.get(member);
        if (m === undefined) members.set(member, (m = memberReads.push(this.redis.hget(this.keys.members(chatId), userId)) - 1));
        let c = chats.get(chatId);
        if (c === undefined) chats.set(chatId, (c = freezeReads.push(this.redis.hget(this.keys.episodes(chatId), FROZEN_FIELD)) - 1));
        return [m, c] as const;
      });
      const [memberRows, freezeRows] = await Promise.all([Promise.all(memberReads), Promise.all(freezeReads)]);
      const memberships = memberRows.map(decodeToggle);
      const freezes = freezeRows.map((raw) => (raw ? decodeFreeze(raw) : null));
      return refs.map(([m, c]) => ({ membership: memberships[m]!, frozen: freezes[c]! }));
    });
  }

  readUsers(needs: ReadonlyMap<string, readonly string[]>): Promise<Map<string, UserFacts>> {
    // Nothing to read is no round trip, and must not count as a fast one.
    if (needs.size === 0) return Promise.resolve(new Map());
    return this.timed('readUsers', async () => {
      const users = [...needs.keys()];
      const rows = await Promise.all(users.map((u) => this.redis.hmget(this.keys.user(u), ROLE_FIELD, ...needs.get(u)!.map(approvalField))));
      const out = new Map<string, UserFacts>();
      users.forEach((u, i) => {
        const [role, ...edges] = rows[i]!;
        const contacts = needs.get(u)!;
        const approvals = new Map<string, Toggle>();
        contacts.forEach((c, j) => {
          if (edges[j]) approvals.set(c, decodeToggle(edges[j]));
        });
        out.set(u, { role: decodeRole(role), approvals });
      });
      return out;
    });
  }

  openEpisode(chatId: string, pairKey: string, record: EpisodeRecord): Promise<boolean> {
    return this.timed('openEpisode', async () => {
      return (await this.redis.hsetnx(this.keys.episodes(chatId), pairKey, encodeRecord(record))) === 1;
    });
  }

  recordFreeze(chatId: string, record: FreezeRecord): Promise<boolean> {
    return this.timed('recordFreeze', async () => {
      return (await this.redis.pgFreeze(this.keys.episodes(chatId), this.keys.frozenChats(), FROZEN_FIELD, encodeRecord(record), chatId)) === 1;
    });
  }

  swapDecision(chatId: string, field: string, expected: string, next: string | null): Promise<boolean> {
    return this.timed('swapDecision', async () => {
      // Lifting a freeze also takes the chat out of the frozen-chats index, in the same script.
      if (field === FROZEN_FIELD && next === null) {
        return (await this.redis.pgUnfreeze(this.keys.episodes(chatId), this.keys.frozenChats(), FROZEN_FIELD, expected, chatId)) === 1;
      }
      return (await this.redis.pgHashSwap(this.keys.episodes(chatId), field, expected, next ?? '')) === 1;
    });
  }

  stateIntact(): Promise<boolean> {
    return this.timed('stateIntact', async () => (await this.redis.exists(this.keys.stateMarker())) === 1);
  }

  markStateCreated(now: number): Promise<void> {
    return this.timed('markStateCreated', async () => {
      await this.redis.set(this.keys.stateMarker(), JSON.stringify({ createdAt: new Date(now).toISOString() }), 'NX');
    });
  }

  countFreeze(now: number, windowMs: number): Promise<number> {
    return this.timed('countFreeze', async () => {
      const key = this.keys.freezeWindow(now - (now % windowMs));
      const [[err, count]] = (await this.redis.multi().incr(key).pexpire(key, windowMs * 2).exec()) as [[Error | null, number]];
      if (err) throw err;
      return count;
    });
  }

  markApplied(topic: string, nextOffsets: ReadonlyMap<number, string>): Promise<void> {
    if (nextOffsets.size === 0) return Promise.resolve();
    return this.timed('markApplied', async () => {
      const args: string[] = [];
      for (const [partition, offset] of nextOffsets) args.push(String(partition), offset);
      await this.redis.pgHashMax(this.keys.applied(topic), ...args);
    });
  }

  appliedOffsets(topic: string): Promise<Map<number, bigint>> {
    return this.timed('appliedOffsets', async () => {
      const raw = await this.redis.hgetall(this.keys.applied(topic));
      return new Map(Object.entries(raw).map(([p, o]) => [Number(p), BigInt(o)]));
    });
  }
}
