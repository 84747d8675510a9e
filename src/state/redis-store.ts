/** StateStore on Redis (a single node today; every command touches one hash-tagged key). */
import type { Redis } from 'ioredis';
import type { UserFacts } from '../policy/chat-facts.js';
import type { Role, Toggle } from '../policy/timeline.js';
import { decodeRole, decodeToggle } from '../policy/timeline.js';
import { FROZEN_FIELD, Keys, ROLE_FIELD, approvalField } from './keys.js';
import type { EpisodeRecord, FreezeRecord } from './records.js';
import { decodeEpisode, decodeFreeze, encodeRecord } from './records.js';
import { defineScripts } from './scripts.js';
import type { ChatState, SenderState, StateStore } from './store.js';

export class RedisStateStore implements StateStore {
  private readonly redis: Redis;
  readonly keys: Keys;

  constructor(redis: Redis, prefix: string) {
    this.redis = defineScripts(redis);
    this.keys = new Keys(prefix);
  }

  async applyRegistration(userId: string, role: Role, at: number): Promise<void> {
    await this.redis.pgRole(this.keys.user(userId), ROLE_FIELD, role, at);
  }

  async applyApproval(childId: string, contactId: string, approved: boolean, at: number): Promise<void> {
    await this.redis.pgToggle(this.keys.user(childId), approved ? '1' : '0', at, approvalField(contactId));
  }

  async applyMembership(chatId: string, userIds: readonly string[], joined: boolean, at: number): Promise<void> {
    const p = this.redis.pipeline();
    // The toggles first: whoever reads the index afterwards finds the membership already there.
    p.pgToggle(this.keys.members(chatId), joined ? '1' : '0', at, ...userIds);
    if (joined) for (const u of userIds) p.sadd(this.keys.userChats(u), chatId);
    await execOrThrow(p);
  }

  async chatsOf(userId: string): Promise<string[]> {
    return this.redis.smembers(this.keys.userChats(userId));
  }

  async readChat(chatId: string): Promise<ChatState> {
    const p = this.redis.pipeline();
    p.hgetall(this.keys.members(chatId));
    p.hgetall(this.keys.episodes(chatId));
    const [members, decisions] = (await execOrThrow(p)) as [Record<string, string>, Record<string, string>];
    const state: ChatState = { members: new Map(), episodes: new Map(), frozen: null };
    for (const [u, v] of Object.entries(members)) state.members.set(u, decodeToggle(v));
    for (const [field, raw] of Object.entries(decisions)) {
      if (field === FROZEN_FIELD) state.frozen = decodeFreeze(raw);
      else state.episodes.set(field, decodeEpisode(raw));
    }
    return state;
  }

  async readSender(chatId: string, userId: string): Promise<SenderState> {
    return (await this.readSenders([{ chatId, userId }]))[0]!;
  }

  async readSenders(messages: ReadonlyArray<{ chatId: string; userId: string }>): Promise<SenderState[]> {
    if (messages.length === 0) return [];
    const p = this.redis.pipeline();
    for (const m of messages) {
      p.hget(this.keys.members(m.chatId), m.userId);
      p.hget(this.keys.episodes(m.chatId), FROZEN_FIELD);
    }
    const rows = (await execOrThrow(p)) as Array<string | null>;
    return messages.map((_, i) => {
      const frozen = rows[2 * i + 1];
      return { membership: decodeToggle(rows[2 * i]), frozen: frozen ? decodeFreeze(frozen) : null };
    });
  }

  async readUsers(needs: ReadonlyMap<string, readonly string[]>): Promise<Map<string, UserFacts>> {
    const users = [...needs.keys()];
    if (users.length === 0) return new Map();
    const p = this.redis.pipeline();
    for (const u of users) p.hmget(this.keys.user(u), ROLE_FIELD, ...needs.get(u)!.map(approvalField));
    const rows = (await execOrThrow(p)) as Array<Array<string | null>>;
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
  }

  async openEpisode(chatId: string, pairKey: string, record: EpisodeRecord): Promise<boolean> {
    return (await this.redis.hsetnx(this.keys.episodes(chatId), pairKey, encodeRecord(record))) === 1;
  }

  async recordFreeze(chatId: string, record: FreezeRecord): Promise<boolean> {
    return (await this.redis.hsetnx(this.keys.episodes(chatId), FROZEN_FIELD, encodeRecord(record))) === 1;
  }

  async swapDecision(chatId: string, field: string, expected: string, next: string | null): Promise<boolean> {
    return (await this.redis.pgHashSwap(this.keys.episodes(chatId), field, expected, next ?? '')) === 1;
  }

  async stateIntact(): Promise<boolean> {
    return (await this.redis.exists(this.keys.stateMarker())) === 1;
  }

  async markStateCreated(now: number): Promise<void> {
    await this.redis.set(this.keys.stateMarker(), JSON.stringify({ createdAt: new Date(now).toISOString() }), 'NX');
  }

  async countFreeze(now: number, windowMs: number): Promise<number> {
    const key = this.keys.freezeWindow(now - (now % windowMs));
    const [[err, count]] = (await this.redis.multi().incr(key).pexpire(key, windowMs * 2).exec()) as [[Error | null, number]];
    if (err) throw err;
    return count;
  }

  async markApplied(topic: string, nextOffsets: ReadonlyMap<number, string>): Promise<void> {
    if (nextOffsets.size === 0) return;
    const args: string[] = [];
    for (const [partition, offset] of nextOffsets) args.push(String(partition), offset);
    await this.redis.pgHashMax(this.keys.applied(topic), ...args);
  }

  async appliedOffsets(topic: string): Promise<Map<number, bigint>> {
    const raw = await this.redis.hgetall(this.keys.applied(topic));
    return new Map(Object.entries(raw).map(([p, o]) => [Number(p), BigInt(o)]));
  }
}

/** ioredis pipelines report per-command errors in the result; surface the first one. */
async function execOrThrow(p: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
  const results = (await p.exec()) ?? [];
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}
