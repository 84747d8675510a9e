/**
 * StateStore on Redis (a single node today; every command touches one hash-tagged key, except the
 * frozen-chats index, see keys.ts). Every operation is one round trip, timed through `observe`.
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
      const p = this.redis.pipeline();
      // The toggles first: whoever reads the index afterwards finds the membership already there.
      p.pgToggle(this.keys.members(chatId), joined ? '1' : '0', at, ...userIds);
      if (joined) for (const u of userIds) p.sadd(this.keys.userChats(u), chatId);
      await execOrThrow(p);
    });
  }

  chatsOf(userId: string): Promise<string[]> {
    return this.timed('chatsOf', () => this.redis.smembers(this.keys.userChats(userId)));
  }

  readChat(chatId: string): Promise<ChatState> {
    return this.timed('readChat', async () => {
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
    });
  }

  readSender(chatId: string, userId: string): Promise<SenderState> {
    return this.readSenders([{ chatId, userId }]).then((states) => states[0]!);
  }

  readSenders(messages: ReadonlyArray<{ chatId: string; userId: string }>): Promise<SenderState[]> {
    if (messages.length === 0) return Promise.resolve([]);
    return this.timed('readSenders', async () => {
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
    });
  }

  readUsers(needs: ReadonlyMap<string, readonly string[]>): Promise<Map<string, UserFacts>> {
    // Nothing to read is no round trip, and must not count as a fast one.
    if (needs.size === 0) return Promise.resolve(new Map());
    return this.timed('readUsers', async () => {
      const users = [...needs.keys()];
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

/** ioredis pipelines report per-command errors in the result; surface the first one. */
async function execOrThrow(p: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
  const results = (await p.exec()) ?? [];
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}
