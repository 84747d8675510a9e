/**
 * Judging one event: apply its fact to state, then judge the pairings it can have changed, and
 * decide alerts and freezes. Dependencies are plain arguments, so a test can pass an in-memory store.
 *
 * Facts are written before they are read, so of two events judged concurrently (say a revocation
 * and a member.added touching the same pair) the one that reads last sees both, and a violation
 * cannot slip between them. Decisions are compare-and-set records in state, so two judges never
 * raise the same episode twice.
 */
import type { ChatUnfrozen, InputEvent, MembershipEvent } from '../events/schema.js';
import type { AlertAction, AlertRecord, FreezeCommand, TriggerRef } from '../actions/records.js';
import { affectedChildren, alertIdOf, SCHEMA_VERSION } from '../actions/records.js';
import type { ChatFacts } from '../policy/chat-facts.js';
import type { FactsNeeded } from '../policy/chat-facts.js';
import { factsAt, factsNeededAmong, membersAt, violationsThenAndNow } from '../policy/chat-facts.js';
import type { Scope, UnapprovedPairing } from '../policy/pairing.js';
import { judgePair, pairKey, parsePairKey, scopeCovers } from '../policy/pairing.js';
import { holdsAt } from '../policy/timeline.js';
import { FROZEN_FIELD } from '../state/keys.js';
import type { EpisodeRecord, FreezeRecord, Stored } from '../state/records.js';
import { encodeRecord } from '../state/records.js';
import type { ChatState, SenderState, StateStore } from '../state/store.js';
import type { FreezeBreaker, WithheldFreeze } from './freeze-breaker.js';
import { NO_BREAKER } from './freeze-breaker.js';

/** What an alert says when its freeze was withheld by the open breaker. */
const WITHHELD = 'freeze-breaker-open' as const;

export type Mode = 'enforce' | 'alert-only';

/** A state change to make once an output has reached its topic. */
export interface SentMark {
  chatId: string;
  field: string;
  expected: string;
  next: string;
}

/** A record to write; `recovered` marks one re-sent because an earlier run may have lost it. */
export type Output =
  | { kind: 'alert'; chatId: string; record: AlertRecord; mark?: SentMark; recovered?: boolean }
  | { kind: 'freeze'; chatId: string; record: FreezeCommand; mark?: SentMark; recovered?: boolean };

export interface Judgement {
  outputs: Output[];
  /** Chats that should have been frozen but were not, because the freeze breaker is open. */
  freezesWithheld: number;
  /** This judgement's freeze tripped the breaker. */
  breakerTripped?: boolean;
  /** A message was sent in a chat pairguard had frozen: the platform did not enforce the freeze. */
  messageAfterFreeze: boolean;
}

export interface JudgeDeps {
  store: StateStore;
  mode: Mode;
  /** Wall clock in ms (injected for tests). */
  now: () => number;
  /** Caps automatic freezes across instances (judge/freeze-breaker.ts); absent: no cap. */
  breaker?: FreezeBreaker;
}

/** The event being judged, with where it was read. */
export interface Trigger {
  event: InputEvent;
  /** The moment judged, in ms: `occurredAt`, or its record's timestamp when that is too far behind it (events/decode.ts, judgedMoment). */
  at: number;
  ref: TriggerRef;
}

/** Per-call hooks from the stream layer. */
export interface JudgeHooks {
  /**
   * Waits until the membership and approval events already on their topics are in state; false
   * when shutting down. Called before a message sender is treated as joining, so that "not a
   * known member" means not a member by anything consumable yet.
   */
  catchUp?: () => Promise<boolean>;
  /**
   * Alert ids this process decided and has not written yet (its current batch): an unsent
   * decision with one of these ids is pending, not lost, and must not be sent twice.
   */
  pending?: ReadonlySet<string>;
  /** The sender's state for a `message.sent`, read beforehand with the rest of its batch. */
  sender?: SenderState;
  /**
   * The state this record's chunk was prepared with (judge/chunk.ts): its facts are already
   * written, and what judging reads first is served from memory. Decisions are confirmed
   * against the store itself.
   */
  view?: StateStore;
}

/**
 * What a message says before any judging: whether its sender was a member when it was sent, and
 * whether it came after the violation that froze its chat (an enforcement gap).
 */
export function messageStanding(sender: SenderState, at: number): { member: boolean; afterFreeze: boolean } {
  return {
    member: holdsAt(sender.membership, at),
    afterFreeze: sender.frozen !== null && at >= sender.frozen.record.triggerAt,
  };
}

/** What a membership event does to its chat, and which of the chat's pairs it can change. */
export function membershipEffect(e: MembershipEvent): {
  chatId: string;
  userIds: string[];
  joined: boolean;
  scope: Scope;
} {
  switch (e.type) {
    case 'chat.created':
      return {
        chatId: e.chatId,
        userIds: [...new Set([...e.members, e.createdBy])],
        joined: true,
        scope: { kind: 'all' },
      };
    case 'member.added':
    case 'member.removed':
      return {
        chatId: e.chatId,
        userIds: [e.userId],
        joined: e.type === 'member.added',
        scope: { kind: 'user', userId: e.userId },
      };
  }
}

export async function judgeEvent(deps: JudgeDeps, t: Trigger, hooks: JudgeHooks = {}): Promise<Judgement> {
  const store = hooks.view ?? deps.store;
  const e = t.event;
  const outputs: Output[] = [];
  let freezesWithheld = 0;
  let breakerTripped = false;
  const judge = async (chatId: string, scope: Scope, extra: string[] = [], chat?: ChatState) => {
    const r = await reconcileChat(deps, store, chatId, scope, t, extra, hooks.pending, chat);
    outputs.push(...r.outputs);
    if (r.freezeWithheld) freezesWithheld++;
    if (r.freezeWithheld === 'tripped') breakerTripped = true;
  };
  switch (e.type) {
    case 'user.registered': {
      await store.applyRegistration(e.userId, e.role, t.at);
      for (const chatId of await store.chatsOf(e.userId)) await judge(chatId, { kind: 'user', userId: e.userId });
      break;
    }
    case 'contact.approved':
    case 'contact.revoked': {
      await store.applyApproval(e.childId, e.contactId, e.type === 'contact.approved', t.at);
      const scope: Scope = { kind: 'pair', a: e.childId, b: e.contactId };
      for (const chatId of await sharedChats(store, e.childId, e.contactId)) await judge(chatId, scope);
      break;
    }
    case 'chat.created':
    case 'member.added':
    case 'member.removed': {
      const { chatId, userIds, joined, scope } = membershipEffect(e);
      await judge(chatId, scope, [], await store.applyMembership(chatId, userIds, joined, t.at));
      break;
    }
    case 'message.sent': {
      let sender = hooks.sender ?? (await store.readSender(e.chatId, e.senderId));
      if (!messageStanding(sender, t.at).member && hooks.catchUp && (await hooks.catchUp())) {
        sender = await store.readSender(e.chatId, e.senderId);
      }
      const { member, afterFreeze: messageAfterFreeze } = messageStanding(sender, t.at);
      if (!member) {
        // A sender who is not a known member joins at that moment (contract §1).
        const chat = await store.applyMembership(e.chatId, [e.senderId], true, t.at);
        await judge(e.chatId, { kind: 'user', userId: e.senderId }, [e.senderId], chat);
      }
      return { outputs, messageAfterFreeze, freezesWithheld, breakerTripped };
    }
  }
  return { outputs, messageAfterFreeze: false, freezesWithheld, breakerTripped };
}

/** What a reviewer's `chat.unfrozen` did. */
export interface UnfreezeJudgement {
  /** The freeze in force was lifted. */
  unfrozen: boolean;
  /** A freeze for a violation newer than the unfreeze (possibly one re-sent after a crash). */
  outputs: Output[];
  freezesWithheld: number;
  breakerTripped?: boolean;
}

/**
 * A reviewer unfroze a chat: forget the freeze unless it is newer than the unfreeze. Then, a
 * violation that began after the unfreeze freezes the chat again (contract §3). It may already
 * have been judged, while the old freeze still stood, when the unfreeze is consumed late (its
 * partition lagged): its episode is open and says when it began, so it is frozen here.
 */
export async function judgeUnfreeze(
  deps: JudgeDeps,
  e: ChatUnfrozen,
  at: number,
  pending: ReadonlySet<string> = new Set(),
): Promise<UnfreezeJudgement> {
  const { store } = deps;
  let chat = await store.readChat(e.chatId);
  let unfrozen = false;
  // A failed swap means the record changed since it was read (marked sent, most often): read it
  // again and retry, so that the unfreeze is not lost.
  for (let attempt = 0; attempt < 3 && !unfrozen && chat.frozen && chat.frozen.record.triggerAt <= at; attempt++) {
    unfrozen = await store.swapDecision(e.chatId, FROZEN_FIELD, chat.frozen.raw, null);
    chat = await store.readChat(e.chatId);
  }
  const newer = [...chat.episodes.values()]
    .filter((ep) => ep.record.triggerAt > at)
    .sort((a, b) => a.record.triggerAt - b.record.triggerAt);
  const none: UnfreezeJudgement = { unfrozen, outputs: [], freezesWithheld: 0 };
  if (deps.mode !== 'enforce' || newer.length === 0) return none;
  const frozen = chat.frozen;
  if (frozen) {
    // Recorded by an earlier run that stopped before sending it: send it now.
    const lost =
      !frozen.record.sent &&
      !pending.has(frozen.record.alertId) &&
      newer.some((ep) => ep.record.alertId === frozen.record.alertId);
    return lost ? { ...none, outputs: [{ ...freezeOutput(e.chatId, frozen), recovered: true }] } : none;
  }
  const cause = newer[0]!.record;
  const take = await breakerOf(deps).take(e.chatId, cause.alertId, deps.now());
  if (take !== 'granted') return { ...none, freezesWithheld: 1, breakerTripped: take === 'tripped' };
  const record: FreezeRecord = {
    alertId: cause.alertId,
    requestedAt: deps.now(),
    triggerAt: cause.triggerAt,
    sent: false,
  };
  if (!(await store.recordFreeze(e.chatId, record))) return none;
  return { ...none, outputs: [freezeOutput(e.chatId, { raw: encodeRecord(record), record })] };
}

async function sharedChats(store: StateStore, a: string, b: string): Promise<string[]> {
  const [ca, cb] = await Promise.all([store.chatsOf(a), store.chatsOf(b)]);
  const other = new Set(cb);
  return ca.filter((c) => other.has(c));
}

/**
 * Which users' facts judging `scope` of a chat needs: those of its members as of the event (with
 * `extra`) and as of now.
 */
export function factsNeeded(chat: ChatState, scope: Scope, at: number, extra: readonly string[]): FactsNeeded {
  const members = new Set(extra);
  chat.members.forEach((t, userId) => {
    if (holdsAt(t, at) || holdsAt(t, Infinity)) members.add(userId);
  });
  return factsNeededAmong(members, scope);
}

async function readFacts(
  store: StateStore,
  chat: ChatState,
  scope: Scope,
  at: number,
  extra: readonly string[],
): Promise<ChatFacts> {
  return { members: chat.members, users: await store.readUsers(factsNeeded(chat, scope, at, extra)) };
}

/** An episode this judgement decided to open. */
interface Opened {
  pairing: UnapprovedPairing;
  key: string;
  episode: Stored<EpisodeRecord>;
}

/** The facts that judging `pairs` needs: each user's approval of the other, and both roles. */
function pairsNeeds(pairs: ReadonlyArray<readonly [string, string]>): FactsNeeded {
  const needs = new Map<string, string[]>();
  const add = (child: string, contact: string) => {
    const list = needs.get(child);
    if (!list) needs.set(child, [contact]);
    else if (!list.includes(contact)) list.push(contact);
  };
  for (const [a, b] of pairs) {
    add(a, b);
    add(b, a);
  }
  return needs;
}

const breakerOf = (deps: JudgeDeps): FreezeBreaker => deps.breaker ?? NO_BREAKER;

/**
 * A freeze the breaker withheld, applied once a person has reset it: only while the violation
 * that caused it still stands (its episode is open) and the chat is not frozen already.
 */
export async function applyWithheldFreeze(
  deps: JudgeDeps,
  w: WithheldFreeze,
): Promise<{ outputs: Output[]; withheld: boolean; tripped: boolean }> {
  const none = { outputs: [], withheld: false, tripped: false };
  if (deps.mode !== 'enforce') return none;
  const chat = await deps.store.readChat(w.chatId);
  if (chat.frozen) return none;
  const cause = [...chat.episodes.values()].find((ep) => ep.record.alertId === w.alertId);
  if (!cause) return none;
  const take = await breakerOf(deps).take(w.chatId, w.alertId, deps.now());
  if (take !== 'granted') return { outputs: [], withheld: true, tripped: take === 'tripped' };
  const record: FreezeRecord = {
    alertId: w.alertId,
    requestedAt: deps.now(),
    triggerAt: cause.record.triggerAt,
    sent: false,
  };
  if (!(await deps.store.recordFreeze(w.chatId, record))) return none;
  return { ...none, outputs: [freezeOutput(w.chatId, { raw: encodeRecord(record), record })] };
}

/**
 * Judges `scope` of a chat and takes the decisions. `store` serves what is read first and takes
 * the decisions (a chunk's view, or the store itself); the re-read that confirms an opened
 * episode always goes to the store itself.
 */
async function reconcileChat(
  deps: JudgeDeps,
  store: StateStore,
  chatId: string,
  scope: Scope,
  t: Trigger,
  extra: string[],
  pending: ReadonlySet<string> = new Set(),
  /** The chat as its trigger's own write read it back; read here when absent. */
  read?: ChatState,
): Promise<{ outputs: Output[]; freezeWithheld: false | 'withheld' | 'tripped' }> {
  const chat = read ?? (await store.readChat(chatId));
  const facts = await readFacts(store, chat, scope, t.at, extra);
  // Judged twice: as of the event (what the event itself did) and as of now (what is true given
  // every fact consumed so far). A revocation consumed before the chat it applies to is only
  // visible "now"; an approval consumed early but made after the event is only visible "then".
  const { atEvent, current } = violationsThenAndNow(facts, scope, t.at, extra);
  const stillViolating = new Set(current.map((p) => pairKey(p.pair)));
  if (current.length > 0) {
    const seenAtEvent = new Set(atEvent.map((p) => pairKey(p.pair)));
    for (const p of current) if (!seenAtEvent.has(pairKey(p.pair))) atEvent.push(p);
  }

  const freezes: Output[] = [];
  const over: UnapprovedPairing[] = [];
  const recovered: Array<{ pairing: UnapprovedPairing; episode: Stored<EpisodeRecord> }> = [];
  const toOpen: Opened[] = [];
  for (const pairing of atEvent) {
    const key = pairKey(pairing.pair);
    const alertId = alertIdOf(chatId, pairing.pair, t.ref.eventId);
    const existing = chat.episodes.get(key);
    if (existing) {
      // Same alertId and never sent: an earlier run opened this episode and stopped before
      // writing its alert. Send it now; a consumer drops the copy if it did get out.
      if (existing.record.alertId === alertId && !existing.record.sent && !pending.has(alertId))
        recovered.push({ pairing, episode: existing });
      continue;
    }
    if (!stillViolating.has(key)) {
      // Facts consumed since (a later approval, a removal) have already ended this violation:
      // it is reported, but there is nothing left to freeze.
      over.push(pairing);
      continue;
    }
    const record: EpisodeRecord = { alertId, openedAt: deps.now(), triggerAt: t.at, sent: false };
    toOpen.push({ pairing, key, episode: { raw: encodeRecord(record), record } });
  }
  const toClose =
    chat.episodes.size === 0
      ? []
      : [...chat.episodes].filter(([key]) => scopeCovers(scope, parsePairKey(key)) && !stillViolating.has(key));

  // The decisions of one judgement touch different fields: they go out together, one round trip.
  let opened: Opened[] = [];
  if (toOpen.length > 0 || toClose.length > 0) {
    const [openedFlags] = await Promise.all([
      Promise.all(toOpen.map((o) => store.openEpisode(chatId, o.key, o.episode.record))),
      Promise.all(toClose.map(([key, episode]) => store.swapDecision(chatId, key, episode.raw, null))),
    ]);
    opened = toOpen.filter((_, i) => openedFlags[i]);
  }

  let confirmed = opened;
  let frozen = chat.frozen;
  if (opened.length > 0) {
    // Re-read after deciding: an approval applied by another judge between our read and our
    // decision must close what we just opened, or the stale episode would hide a later violation.
    const [again, users] = await Promise.all([
      deps.store.readChat(chatId),
      deps.store.readUsers(pairsNeeds(opened.map((o) => o.pairing.pair))),
    ]);
    const membersNow = new Set(membersAt({ members: again.members, users }, Infinity));
    const factsNow = factsAt(users, Infinity);
    const stale = opened.filter(
      ({
        pairing: {
          pair: [a, b],
        },
      }) => !membersNow.has(a) || !membersNow.has(b) || judgePair(a, b, factsNow) === null,
    );
    await Promise.all(stale.map((o) => store.swapDecision(chatId, o.key, o.episode.raw, null)));
    over.push(...stale.map((o) => o.pairing));
    confirmed = opened.filter((o) => !stale.includes(o));
    frozen = again.frozen;
  }

  // The episodes this trigger opened: new ones, and ones an earlier run opened for the same
  // trigger before it died (which may also have died before recording the freeze).
  const causes = [...confirmed.map((o) => o.episode.record), ...recovered.map((r) => r.episode.record)];
  let freezeWithheld: false | 'withheld' | 'tripped' = false;
  if (deps.mode === 'enforce' && causes.length > 0 && !frozen) {
    // Asked only now, when a freeze follows: the breaker counts freezes, not violations.
    const take = await breakerOf(deps).take(chatId, causes[0]!.alertId, deps.now());
    if (take !== 'granted') {
      // Breaker open: keep alerting, stop freezing. The alert says so; a person resets it.
      freezeWithheld = take;
    } else {
      const record: FreezeRecord = {
        alertId: causes[0]!.alertId,
        requestedAt: deps.now(),
        triggerAt: t.at,
        sent: false,
      };
      if (await store.recordFreeze(chatId, record)) {
        frozen = { raw: encodeRecord(record), record };
        freezes.push(freezeOutput(chatId, frozen));
      } else {
        frozen = (await store.readChat(chatId)).frozen;
      }
    }
  } else if (
    frozen &&
    !frozen.record.sent &&
    !pending.has(frozen.record.alertId) &&
    causes.some((c) => c.alertId === frozen!.record.alertId)
  ) {
    freezes.push({ ...freezeOutput(chatId, frozen), recovered: true });
  }

  // Alerts go out before the freeze that names them.
  const action: AlertAction = deps.mode === 'enforce' && frozen ? 'frozen' : 'alert-only';
  const why = freezeWithheld ? WITHHELD : undefined;
  const outputs = [
    ...over.map((p) => alertOutput(deps, chatId, p, t, 'alert-only')),
    ...confirmed.map((o) => alertOutput(deps, chatId, o.pairing, t, action, o.key, o.episode, why)),
    ...recovered.map((r): Output => ({
      ...alertOutput(deps, chatId, r.pairing, t, action, pairKey(r.pairing.pair), r.episode, why),
      recovered: true,
    })),
    ...freezes,
  ];
  return { outputs, freezeWithheld };
}

function alertOutput(
  deps: JudgeDeps,
  chatId: string,
  pairing: UnapprovedPairing,
  t: Trigger,
  action: AlertAction,
  field?: string,
  episode?: Stored<EpisodeRecord>,
  freezeWithheld?: typeof WITHHELD,
): Output {
  const record: AlertRecord = {
    schemaVersion: SCHEMA_VERSION,
    type: 'pairing.unapproved',
    alertId: alertIdOf(chatId, pairing.pair, t.ref.eventId),
    chatId,
    pair: pairing.pair,
    missing: pairing.missing,
    affectedChildren: affectedChildren(pairing.missing),
    trigger: t.ref,
    occurredAt: t.event.occurredAt,
    detectedAt: new Date(deps.now()).toISOString(),
    action,
    ...(freezeWithheld ? { freezeWithheld } : {}),
  };
  const mark =
    field && episode
      ? { chatId, field, expected: episode.raw, next: encodeRecord({ ...episode.record, sent: true }) }
      : undefined;
  return mark ? { kind: 'alert', chatId, record, mark } : { kind: 'alert', chatId, record };
}

function freezeOutput(chatId: string, frozen: Stored<FreezeRecord>): Output {
  const record: FreezeCommand = {
    schemaVersion: SCHEMA_VERSION,
    type: 'chat.freeze',
    chatId,
    alertId: frozen.record.alertId,
    reason: 'unapproved-pairing',
    requestedAt: new Date(frozen.record.requestedAt).toISOString(),
  };
  return {
    kind: 'freeze',
    chatId,
    record,
    mark: { chatId, field: FROZEN_FIELD, expected: frozen.raw, next: encodeRecord({ ...frozen.record, sent: true }) },
  };
}
