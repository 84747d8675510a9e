/**
 * The state ports in memory: the Redis store's rules (its Lua merges, its compare-and-set on the
 * stored form) in plain maps, for unit tests of the judge and the stream core. The conformance
 * suite (test/support/store-conformance.ts) holds both to the same behaviour.
 */
import type { FactsNeeded, UserFacts } from '../policy/chat-facts.js';
import type { FactHistory, Moment, Role, RoleHistory } from '../policy/timeline.js';
import { NEVER, UNREGISTERED, applyRegistration, applySwitch } from '../policy/timeline.js';
import { FROZEN_FIELD, decodeDecisions, decodeFreeze, encodeRecord } from './codec.js';
import type { EpisodeRecord, FreezeRecord, SentMark, Stored } from './records.js';
import type {
  LearnedChat,
  LearnedFreeze,
  LearnedUnfreezes,
  LearningBound,
  OutputIdentity,
  WrittenOutput,
} from './learned.js';
import { applyMembershipSwitch } from './membership.js';
import type { ChatState, ChatSwitches, StateStore } from './store.js';

export class MemoryStore implements StateStore {
  roles = new Map<string, RoleHistory>();
  approvals = new Map<string, Map<string, FactHistory>>();
  members = new Map<string, Map<string, FactHistory>>();
  index = new Map<string, Set<string>>();
  /** Chat → its decisions hash as Redis holds it: pair key (or the freeze field) → stored form. */
  decisions = new Map<string, Map<string, string>>();
  applied = new Map<string, Map<number, bigint>>();
  appliedAt = new Map<string, Map<number, number>>();
  judged = Number.NEGATIVE_INFINITY;
  /** The state marker: a memory store starts as created, and a test sets this false to lose it. */
  intact = true;
  /** Chat → what a rebuild learned about it: outputs written (`<kind> <alertId>`), freezes, unfreezes. */
  learned = new Map<
    string,
    { written: Set<string>; freezes: Map<string, LearnedFreeze>; unfreezes: Map<number, LearnedUnfreezes> }
  >();
  bound: LearningBound | null = null;

  async applyRegistration(userId: string, role: Role, at: Moment) {
    this.roles.set(userId, applyRegistration(this.roles.get(userId) ?? UNREGISTERED, role, at));
  }
  async applyApproval(childId: string, contactId: string, approved: boolean, at: Moment) {
    const m = getOr(this.approvals, childId, () => new Map<string, FactHistory>());
    m.set(contactId, applySwitch(m.get(contactId) ?? NEVER, approved, at));
  }
  async applyMembership(chatId: string, userIds: readonly string[], joined: boolean, at: Moment) {
    applyMembershipSwitch(
      getOr(this.members, chatId, () => new Map<string, FactHistory>()),
      { userIds, joined, at },
    );
    if (joined) for (const u of userIds) getOr(this.index, u, () => new Set<string>()).add(chatId);
    return this.readChat(chatId);
  }
  async applyMembershipChanges(chats: readonly ChatSwitches[]) {
    const before: ChatState[] = [];
    for (const { chatId, switches } of chats) {
      before.push(await this.readChat(chatId));
      for (const s of switches) await this.applyMembership(chatId, s.userIds, s.joined, s.at);
    }
    return before;
  }
  async chatsOf(userId: string) {
    return [...(this.index.get(userId) ?? [])];
  }
  async readChat(chatId: string): Promise<ChatState> {
    const chat: ChatState = { members: new Map(this.members.get(chatId) ?? []), episodes: new Map(), frozen: null };
    return decodeDecisions(this.decisions.get(chatId) ?? new Map<string, string>(), chat);
  }
  async readSender(chatId: string, userId: string) {
    const raw = this.decisions.get(chatId)?.get(FROZEN_FIELD);
    return { membership: this.members.get(chatId)?.get(userId) ?? NEVER, frozen: raw ? decodeFreeze(raw) : null };
  }
  async readSenders(messages: ReadonlyArray<{ chatId: string; userId: string }>) {
    return Promise.all(messages.map((m) => this.readSender(m.chatId, m.userId)));
  }
  async readUsers(needs: FactsNeeded) {
    const out = new Map<string, UserFacts>();
    for (const [u, contacts] of needs) {
      const all = this.approvals.get(u) ?? new Map<string, FactHistory>();
      const approvals = new Map<string, FactHistory>();
      for (const c of contacts === 'all' ? all.keys() : contacts) {
        const t = all.get(c);
        if (t) approvals.set(c, t);
      }
      out.set(u, { role: this.roles.get(u) ?? UNREGISTERED, approvals });
    }
    return out;
  }
  async openEpisode(chatId: string, pairKey: string, record: EpisodeRecord) {
    return this.setIfAbsent(chatId, pairKey, encodeRecord(record));
  }
  async closeEpisode(chatId: string, pairKey: string, episode: Stored<EpisodeRecord>) {
    return this.swap(chatId, pairKey, episode.raw, null);
  }
  async recordFreeze(chatId: string, record: FreezeRecord) {
    return this.setIfAbsent(chatId, FROZEN_FIELD, encodeRecord(record));
  }
  async liftFreeze(chatId: string, freeze: Stored<FreezeRecord>) {
    return this.swap(chatId, FROZEN_FIELD, freeze.raw, null);
  }
  async markSent(mark: SentMark) {
    return this.swap(mark.chatId, mark.field, mark.expected, mark.next);
  }
  async stateIntact() {
    return this.intact;
  }
  async markStateCreated() {
    this.intact = true;
  }
  async markApplied(topic: string, nextOffsets: ReadonlyMap<number, string>, moments?: ReadonlyMap<number, number>) {
    const m = getOr(this.applied, topic, () => new Map<number, bigint>());
    for (const [p, o] of nextOffsets) if (BigInt(o) > (m.get(p) ?? -1n)) m.set(p, BigInt(o));
    const t = getOr(this.appliedAt, topic, () => new Map<number, number>());
    for (const [p, at] of moments ?? []) if (at > (t.get(p) ?? Number.NEGATIVE_INFINITY)) t.set(p, at);
  }
  async appliedOffsets(topic: string) {
    return new Map(this.applied.get(topic) ?? []);
  }
  async appliedPositions(topic: string) {
    const at = this.appliedAt.get(topic);
    return new Map(
      [...(this.applied.get(topic) ?? [])].map(([p, next]) => [
        p,
        { next, at: at?.get(p) ?? Number.NEGATIVE_INFINITY },
      ]),
    );
  }
  async markJudged(at: number) {
    this.judged = Math.max(this.judged, at);
  }
  async judgedThrough() {
    return this.judged;
  }
  async learnOutputs(outputs: readonly WrittenOutput[]) {
    for (const o of outputs) {
      const l = getOr(this.learned, o.chatId, () => ({
        written: new Set<string>(),
        freezes: new Map<string, LearnedFreeze>(),
        unfreezes: new Map<number, LearnedUnfreezes>(),
      }));
      if (o.kind === 'alert') l.written.add(`alert ${o.alertId}`);
      else if (o.kind === 'freeze') {
        // Numbers are raised, never lowered, as lua/hash-max.lua raises them in Redis.
        l.written.add(`freeze ${o.alertId}`);
        const was = l.freezes.get(o.alertId);
        const offset = BigInt(o.offset);
        l.freezes.set(o.alertId, {
          partition: o.partition,
          offset: was && was.offset > offset ? was.offset : offset,
          requestedAt: Math.max(was?.requestedAt ?? Number.NEGATIVE_INFINITY, o.requestedAt),
        });
      } else {
        const was = l.unfreezes.get(o.partition);
        const offset = BigInt(o.offset);
        l.unfreezes.set(o.partition, {
          offset: was && was.offset > offset ? was.offset : offset,
          at: Math.max(was?.at ?? Number.NEGATIVE_INFINITY, o.at),
        });
      }
    }
  }
  async alreadyWritten(outputs: readonly OutputIdentity[]) {
    return outputs.map((o) => this.learned.get(o.chatId)?.written.has(`${o.kind} ${o.alertId}`) ?? false);
  }
  async learnedChat(chatId: string): Promise<LearnedChat> {
    const l = this.learned.get(chatId);
    return { freezes: new Map(l?.freezes ?? []), unfreezes: new Map(l?.unfreezes ?? []) };
  }
  async markLearned(bound: LearningBound) {
    this.bound = structuredClone(bound);
  }
  async learningBound() {
    return this.bound && structuredClone(this.bound);
  }
  async forgetLearned() {
    this.learned.clear();
    this.bound = null;
  }
  private swap(chatId: string, field: string, expected: string, next: string | null) {
    const d = getOr(this.decisions, chatId, () => new Map<string, string>());
    if (d.get(field) !== expected) return false;
    if (next === null) d.delete(field);
    else d.set(field, next);
    return true;
  }
  private setIfAbsent(chatId: string, field: string, raw: string) {
    const d = getOr(this.decisions, chatId, () => new Map<string, string>());
    if (d.has(field)) return false;
    d.set(field, raw);
    return true;
  }
}

function getOr<K, V>(m: Map<K, V>, k: K, make: () => V): V {
  let v = m.get(k);
  if (v === undefined) {
    v = make();
    m.set(k, v);
  }
  return v;
}
