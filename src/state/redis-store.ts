/**
 * The state ports on Redis, one server or a Redis Cluster (docs/state-layout.md for the keys and
 * what is atomic, codec.ts for the values, redis-client.ts for the client). Every command and script touches one hash-tagged key. Each
 * operation is timed through `observe`, and reads of many users or chats are one round trip
 * (`roundTrip`): commands issued together, which the client's auto-pipelining sends as one
 * pipeline per server (the monitor's client; a cluster's always), or else one explicit pipeline.
 */
import { performance } from 'node:perf_hooks';
import type { ChainableCommander } from 'ioredis';
import type { FactsNeeded, UserFacts } from '../policy/chat-facts.js';
import type { FactHistory, Moment, Role } from '../policy/timeline.js';
import { stampOf } from '../policy/timeline.js';
import {
  APPROVAL_PREFIX,
  BOUND_FIELD,
  FROZEN_FIELD,
  LEARNED_ALERT,
  LEARNED_FREEZE,
  LEARNED_FREEZE_OFFSET,
  LEARNED_FREEZE_REQUESTED,
  LEARNED_UNFREEZE_AT,
  LEARNED_UNFREEZE_OFFSET,
  ROLE_FIELD,
  approvalField,
  contactOf,
  MOMENT_PREFIX,
  decodeAppliedPositions,
  decodeBound,
  decodeChat,
  decodeFreeze,
  decodeLearnedChat,
  decodeRole,
  decodeHistory,
  encodeBound,
  encodeRecord,
  learnedField,
} from './codec.js';
import { marksFreeze } from './decisions.js';
import { Keys } from './keys.js';
import type { LearnedChat, LearningBound, OutputIdentity, WrittenOutput } from './learned.js';
import type { EpisodeRecord, FreezeRecord, SentMark, Stored } from './records.js';
import type { RedisClient } from './redis-client.js';
import { defineScripts } from './scripts.js';
import { applyMembershipSwitch } from './membership.js';
import type { AppliedPosition, ChatState, ChatSwitches, SenderState, StateStore } from './store.js';

/** The operation every compare-and-set of a decision is timed as (the metric's `operation` label). */
const SWAP = 'swapDecision';

/** Receives each operation's round trip; the operation is a method name, never a key or an id. */
export type OperationObserver = (operation: string, seconds: number) => void;

/** One command of a round trip, written against a pipeline. */
type Command = (r: ChainableCommander) => unknown;

export class RedisStateStore implements StateStore {
  private readonly redis: RedisClient;
  readonly keys: Keys;
  private readonly autoPipelined: boolean;

  constructor(
    redis: RedisClient,
    prefix: string,
    private readonly observe: OperationObserver = () => undefined,
  ) {
    this.redis = defineScripts(redis);
    this.keys = new Keys(prefix);
    this.autoPipelined = redis.isCluster || redis.options.enableAutoPipelining === true;
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

  /**
   * Sends commands as one round trip and returns their results in order, or throws the first error.
   * A client that auto-pipelines (always so on a cluster) gets the commands issued together: it
   * sends everything issued in the same tick, by this operation and by the others judged
   * concurrently, as one pipeline per server, which on a cluster is the only way to read keys
   * that span nodes. Otherwise one explicit pipeline, the cheapest way for a lone operation. A
   * client's command returns its reply's promise, which is what the cast below relies on.
   */
  private async roundTrip(commands: readonly Command[]): Promise<unknown[]> {
    if (this.autoPipelined) {
      const client = this.redis as unknown as ChainableCommander;
      return Promise.all(commands.map((c) => c(client)));
    }
    const p = this.redis.pipeline();
    for (const c of commands) c(p);
    const results = (await p.exec()) ?? [];
    return results.map(([err, value]) => {
      if (err) throw err;
      return value;
    });
  }

  /** PING, for health checks. */
  async ping(): Promise<void> {
    await this.timed('ping', () => this.redis.ping());
  }

  /** How many chats have a freeze in force (SCARD of the index kept beside the freeze field). */
  async frozenChats(): Promise<number> {
    return this.timed('frozenChats', () => this.redis.scard(this.keys.frozenChats()));
  }

  applyRegistration(userId: string, role: Role, at: Moment): Promise<void> {
    return this.timed('applyRegistration', async () => {
      await this.redis.pgRole(this.keys.user(userId), ROLE_FIELD, role, ...stampOf(at));
    });
  }

  applyApproval(childId: string, contactId: string, approved: boolean, at: Moment): Promise<void> {
    return this.timed('applyApproval', async () => {
      await this.redis.pgToggle(
        this.keys.user(childId),
        approved ? '1' : '0',
        ...stampOf(at),
        approvalField(contactId),
      );
    });
  }

  async applyMembership(chatId: string, userIds: readonly string[], joined: boolean, at: Moment): Promise<ChatState> {
    const change = { userIds, joined, at };
    const [chat] = await this.applyMembershipChanges([{ chatId, switches: [change] }]);
    applyMembershipSwitch(chat!.members, change);
    return chat!;
  }

  applyMembershipChanges(chats: readonly ChatSwitches[]): Promise<ChatState[]> {
    if (chats.length === 0) return Promise.resolve([]);
    return this.timed('applyMembershipChanges', async () => {
      // The histories first: whoever reads the index afterwards finds the membership already there.
      // One server applies a round trip in order; on a cluster the users' index sets live on
      // other nodes, which nothing orders, so the index waits for the histories.
      const toggles = chats.map(({ chatId, switches }): Command => {
        const args: Array<string | number> = [];
        for (const s of switches) args.push(s.joined ? '1' : '0', ...stampOf(s.at), s.userIds.length, ...s.userIds);
        return (r) => r.pgMembership(this.keys.members(chatId), this.keys.episodes(chatId), ...args);
      });
      const joinedChats = new Map<string, Set<string>>();
      for (const { chatId, switches } of chats) {
        for (const s of switches) {
          if (!s.joined) continue;
          for (const u of s.userIds) {
            const set = joinedChats.get(u);
            if (set) set.add(chatId);
            else joinedChats.set(u, new Set([chatId]));
          }
        }
      }
      const index = [...joinedChats].map(
        ([u, ids]): Command =>
          (r) =>
            r.sadd(this.keys.userChats(u), ...ids),
      );
      let replies: unknown[];
      if (this.redis.isCluster) {
        replies = await this.roundTrip(toggles);
        await this.roundTrip(index);
      } else {
        replies = (await this.roundTrip([...toggles, ...index])).slice(0, toggles.length);
      }
      return replies.map((r) => decodeChat(...(r as [string[], string[]])));
    });
  }

  chatsOf(userId: string): Promise<string[]> {
    return this.timed('chatsOf', () => this.redis.smembers(this.keys.userChats(userId)));
  }

  readChat(chatId: string): Promise<ChatState> {
    return this.timed('readChat', async () => {
      const [members, decisions] = await this.roundTrip([
        (r) => r.hgetall(this.keys.members(chatId)),
        (r) => r.hgetall(this.keys.episodes(chatId)),
      ]);
      return decodeChat(members as Record<string, string>, decisions as Record<string, string>);
    });
  }

  readSender(chatId: string, userId: string): Promise<SenderState> {
    return this.readSenders([{ chatId, userId }]).then((states) => states[0]!);
  }

  readSenders(messages: ReadonlyArray<{ chatId: string; userId: string }>): Promise<SenderState[]> {
    if (messages.length === 0) return Promise.resolve([]);
    return this.timed('readSenders', async () => {
      // A chunk holds runs of messages in the same chats from the same senders: two commands per
      // chat, its senders' memberships and its freeze, each read once.
      const chats = new Map<string, Map<string, number>>();
      for (const { chatId, userId } of messages) {
        const senders = chats.get(chatId);
        if (!senders) chats.set(chatId, new Map([[userId, 0]]));
        else if (!senders.has(userId)) senders.set(userId, senders.size);
      }
      const commands: Command[] = [];
      for (const [chatId, senders] of chats) {
        commands.push(
          (r) => r.hmget(this.keys.members(chatId), ...senders.keys()),
          (r) => r.hget(this.keys.episodes(chatId), FROZEN_FIELD),
        );
      }
      const replies = await this.roundTrip(commands);
      const states = new Map<string, { memberships: FactHistory[]; frozen: SenderState['frozen'] }>();
      let i = 0;
      for (const chatId of chats.keys()) {
        const [memberships, frozen] = [replies[i++] as Array<string | null>, replies[i++] as string | null];
        states.set(chatId, {
          memberships: memberships.map(decodeHistory),
          frozen: frozen ? decodeFreeze(frozen) : null,
        });
      }
      return messages.map(({ chatId, userId }) => {
        const chat = states.get(chatId)!;
        return { membership: chat.memberships[chats.get(chatId)!.get(userId)!]!, frozen: chat.frozen };
      });
    });
  }

  readUsers(needs: FactsNeeded): Promise<Map<string, UserFacts>> {
    // Nothing to read is no round trip, and must not count as a fast one.
    if (needs.size === 0) return Promise.resolve(new Map());
    return this.timed('readUsers', async () => {
      const users = [...needs];
      const rows = await this.roundTrip(
        users.map(([u, contacts]): Command =>
          contacts === 'all'
            ? (r) => r.hgetall(this.keys.user(u))
            : (r) => r.hmget(this.keys.user(u), ROLE_FIELD, ...contacts.map(approvalField)),
        ),
      );
      const out = new Map<string, UserFacts>();
      users.forEach(([u, contacts], i) => {
        const approvals = new Map<string, FactHistory>();
        if (contacts === 'all') {
          const hash = rows[i] as Record<string, string>;
          for (const field of Object.keys(hash))
            if (field.startsWith(APPROVAL_PREFIX)) approvals.set(contactOf(field), decodeHistory(hash[field]));
          out.set(u, { role: decodeRole(hash[ROLE_FIELD]), approvals });
          return;
        }
        const [role, ...edges] = rows[i] as Array<string | null>;
        contacts.forEach((c, j) => {
          if (edges[j]) approvals.set(c, decodeHistory(edges[j]));
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
      // The index after the field; a crash in between is repaired when the freeze is marked sent
      // (docs/state-layout.md). One server applies a round trip in order, so both go together (a chat whose
      // freeze was already recorded belongs in the index anyway); on a cluster the index, on
      // another node, waits for the field.
      const field: Command = (r) => r.hsetnx(this.keys.episodes(chatId), FROZEN_FIELD, encodeRecord(record));
      const index: Command = (r) => r.sadd(this.keys.frozenChats(), chatId);
      if (!this.redis.isCluster) return (await this.roundTrip([field, index]))[0] === 1;
      if ((await this.roundTrip([field]))[0] === 0) return false;
      await this.roundTrip([index]);
      return true;
    });
  }

  closeEpisode(chatId: string, pairKey: string, episode: Stored<EpisodeRecord>): Promise<boolean> {
    return this.timed(SWAP, () => this.swap(chatId, pairKey, episode.raw, ''));
  }

  liftFreeze(chatId: string, freeze: Stored<FreezeRecord>): Promise<boolean> {
    return this.timed(SWAP, () => this.lift(chatId, freeze.raw));
  }

  markSent(mark: SentMark): Promise<boolean> {
    return this.timed(SWAP, () => this.replace(mark.chatId, mark.field, mark.expected, mark.next, marksFreeze(mark)));
  }

  /** Compare-and-set of one decision field ("" deletes it). */
  private async swap(chatId: string, field: string, expected: string, next: string): Promise<boolean> {
    return (await this.redis.pgHashSwap(this.keys.episodes(chatId), field, expected, next)) === 1;
  }

  /** A decision marked sent; a freeze's also (re)enters the frozen-chats index, which repairs a lost SADD. */
  private async replace(chatId: string, field: string, expected: string, next: string, freeze: boolean) {
    const swapped = await this.swap(chatId, field, expected, next);
    if (swapped && freeze) await this.redis.sadd(this.keys.frozenChats(), chatId);
    return swapped;
  }

  /** Out of the index first, then the field; a freeze still in force (the compare failed) goes back in. */
  private async lift(chatId: string, expected: string): Promise<boolean> {
    const index = this.keys.frozenChats();
    await this.redis.srem(index, chatId);
    const lifted = await this.swap(chatId, FROZEN_FIELD, expected, '');
    if (!lifted && (await this.redis.hexists(this.keys.episodes(chatId), FROZEN_FIELD)) === 1)
      await this.redis.sadd(index, chatId);
    return lifted;
  }

  /** One marker on a server; on a cluster one in every range of slots (Keys.stateMarkers). */
  private markers(): string[] {
    return this.redis.isCluster ? this.keys.stateMarkers() : [this.keys.stateMarker()];
  }

  stateIntact(): Promise<boolean> {
    return this.timed('stateIntact', async () => {
      // One EXISTS per marker: markers on a cluster are in different slots (auto-pipelined per node).
      const found = await Promise.all(this.markers().map((k) => this.redis.exists(k)));
      if (found.every((n) => n === 1)) return true;
      // A cluster state made before the markers were spread over slot ranges: upgrade it in place.
      if (
        this.redis.isCluster &&
        found.every((n) => n === 0) &&
        (await this.redis.exists(this.keys.stateMarker())) === 1
      ) {
        await this.writeMarkers(Date.now());
        return true;
      }
      return false;
    });
  }

  markStateCreated(now: number): Promise<void> {
    return this.timed('markStateCreated', () => this.writeMarkers(now));
  }

  private async writeMarkers(now: number): Promise<void> {
    const value = JSON.stringify({ createdAt: new Date(now).toISOString() });
    await Promise.all(this.markers().map((k) => this.redis.set(k, value, 'NX')));
  }

  markApplied(
    topic: string,
    nextOffsets: ReadonlyMap<number, string>,
    moments?: ReadonlyMap<number, number>,
  ): Promise<void> {
    if (nextOffsets.size === 0) return Promise.resolve();
    return this.timed('markApplied', async () => {
      const args: string[] = [];
      for (const [partition, offset] of nextOffsets) args.push(String(partition), offset);
      for (const [partition, at] of moments ?? []) args.push(`${MOMENT_PREFIX}${partition}`, String(at));
      await this.redis.pgHashMax(this.keys.applied(topic), ...args);
    });
  }

  async appliedOffsets(topic: string): Promise<Map<number, bigint>> {
    const positions = await this.appliedPositions(topic);
    return new Map([...positions].map(([p, { next }]) => [p, next]));
  }

  appliedPositions(topic: string): Promise<Map<number, AppliedPosition>> {
    return this.timed('appliedPositions', async () =>
      decodeAppliedPositions(await this.redis.hgetall(this.keys.applied(topic))),
    );
  }

  markJudged(at: number): Promise<void> {
    return this.timed('markJudged', async () => {
      await this.redis.pgHashMax(this.keys.judged(), 'at', String(at));
    });
  }

  judgedThrough(): Promise<number> {
    return this.timed('judgedThrough', async () => {
      const raw = await this.redis.hget(this.keys.judged(), 'at');
      return raw === null ? Number.NEGATIVE_INFINITY : Number(raw);
    });
  }

  learnOutputs(outputs: readonly WrittenOutput[]): Promise<void> {
    if (outputs.length === 0) return Promise.resolve();
    return this.timed('learnOutputs', async () => {
      const written = new Map<string, string[]>();
      const raised = new Map<string, string[]>();
      const push = (m: Map<string, string[]>, chatId: string, ...fv: string[]) => {
        const list = m.get(chatId);
        if (list) list.push(...fv);
        else m.set(chatId, fv);
      };
      for (const o of outputs) {
        if (o.kind === 'alert') push(written, o.chatId, `${LEARNED_ALERT}${o.alertId}`, '1');
        else if (o.kind === 'freeze') {
          push(written, o.chatId, `${LEARNED_FREEZE}${o.alertId}`, String(o.partition));
          push(
            raised,
            o.chatId,
            `${LEARNED_FREEZE_OFFSET}${o.alertId}`,
            o.offset,
            `${LEARNED_FREEZE_REQUESTED}${o.alertId}`,
            String(o.requestedAt),
          );
        } else
          push(
            raised,
            o.chatId,
            `${LEARNED_UNFREEZE_OFFSET}${o.partition}`,
            o.offset,
            `${LEARNED_UNFREEZE_AT}${o.partition}`,
            String(o.at),
          );
      }
      // The index first: a chat's hash never exists unindexed, so forgetting finds every one.
      const chats = [...new Set(outputs.map((o) => o.chatId))];
      await this.redis.sadd(this.keys.learnedChats(), ...chats);
      await this.roundTrip([
        ...[...written].map(
          ([chatId, fv]): Command =>
            (r) =>
              r.hset(this.keys.learnedChat(chatId), ...fv),
        ),
        ...[...raised].map(
          ([chatId, fv]): Command =>
            (r) =>
              r.pgHashMax(this.keys.learnedChat(chatId), ...fv),
        ),
      ]);
    });
  }

  alreadyWritten(outputs: readonly OutputIdentity[]): Promise<boolean[]> {
    if (outputs.length === 0) return Promise.resolve([]);
    return this.timed('alreadyWritten', async () => {
      const replies = await this.roundTrip(
        outputs.map(
          (o): Command =>
            (r) =>
              r.hexists(this.keys.learnedChat(o.chatId), learnedField(o)),
        ),
      );
      return replies.map((n) => n === 1);
    });
  }

  learnedChat(chatId: string): Promise<LearnedChat> {
    return this.timed('learnedChat', async () =>
      decodeLearnedChat(await this.redis.hgetall(this.keys.learnedChat(chatId))),
    );
  }

  markLearned(bound: LearningBound): Promise<void> {
    return this.timed('markLearned', async () => {
      await this.redis.hset(this.keys.learning(), BOUND_FIELD, encodeBound(bound));
    });
  }

  learningBound(): Promise<LearningBound | null> {
    return this.timed('learningBound', async () =>
      decodeBound(await this.redis.hget(this.keys.learning(), BOUND_FIELD)),
    );
  }

  forgetLearned(): Promise<void> {
    return this.timed('forgetLearned', async () => {
      const index = this.keys.learnedChats();
      // Each chat's hash, page by page, then the index, then the bound: cut short, it is done again.
      for await (const page of this.redis.sscanStream(index, { count: 500 }) as AsyncIterable<string[]>)
        if (page.length > 0)
          await this.roundTrip(
            page.map(
              (chatId): Command =>
                (r) =>
                  r.del(this.keys.learnedChat(chatId)),
            ),
          );
      await this.redis.del(index);
      await this.redis.del(this.keys.learning());
    });
  }
}
