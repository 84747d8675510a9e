/**
 * Judging one event: apply its fact to state, then judge the pairings it can have changed, and
 * decide alerts and freezes. Dependencies are plain arguments, so a test can pass an in-memory store.
 *
 * Facts are written before they are read, so of two events judged concurrently (say a revocation
 * and a member.added touching the same pair) the one that reads last sees both, and a violation
 * cannot slip between them. Decisions are compare-and-set records in state, so two judges never
 * raise the same episode twice.
 */
import type { ChatUnfrozen, MembershipEvent } from '../events/schema.js';
import { factsAt } from '../policy/chat-facts.js';
import type { Scope } from '../policy/pairing.js';
import { judgePair, parsePairKey } from '../policy/pairing.js';
import type { Moment } from '../policy/timeline.js';
import { NEVER, holdsAt, holdsBefore } from '../policy/timeline.js';
import { written } from '../state/decisions.js';
import type { WithheldFreeze } from '../state/freeze-breaker.js';
import type { FreezeRecord } from '../state/records.js';
import type { ChatState, FactStore, SenderState } from '../state/store.js';
import type {
  ChatJudgingStore,
  JudgeDeps,
  JudgeHooks,
  JudgeStore,
  Judgement,
  Output,
  Trigger,
  UnfreezeJudgement,
} from './judgement.js';
import { freezeOutput, triggerStamp } from './judgement.js';
import { mayFreeze, reconcileChat } from './reconcile.js';

export type { Mode } from '../config.js';
export type {
  ChatJudgingStore,
  JudgeDeps,
  JudgeHooks,
  JudgeStore,
  Judgement,
  Output,
  Trigger,
  UnfreezeJudgement,
} from './judgement.js';
export type { SentMark } from '../state/records.js';
export { factsNeeded } from './reconcile.js';

/**
 * What a message says before any judging: whether its sender was a member when it was sent, and
 * whether it came after the violation that froze its chat (an enforcement gap).
 */
export function messageStanding(sender: SenderState, at: Moment): { member: boolean; afterFreeze: boolean } {
  const ms = typeof at === 'number' ? at : at[0];
  return {
    // Strictly before: a sender who joined at the message's own stamp joined by this message (its
    // fact, applied already when the message is judged again after a partial chunk), not before it.
    member: holdsBefore(sender.membership, at),
    afterFreeze: sender.frozen !== null && ms >= sender.frozen.record.triggerAt,
  };
}

/**
 * Writes the fact an approvals-topic event carries (a role, an approval) at its stamp; undefined
 * for other events. The one place that says how: judging writes it first, and the stream, which
 * applies a chunk's facts before it waits at the event-time frontier, calls it too.
 */
export function applyUserFact(
  store: Pick<FactStore, 'applyRegistration' | 'applyApproval'>,
  t: Trigger,
): Promise<void> | undefined {
  const e = t.event;
  switch (e.type) {
    case 'user.registered':
      return store.applyRegistration(e.userId, e.role, triggerStamp(t));
    case 'contact.approved':
    case 'contact.revoked':
      return store.applyApproval(e.childId, e.contactId, e.type === 'contact.approved', triggerStamp(t));
    default:
      return undefined;
  }
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

export async function judgeEvent(deps: JudgeDeps<JudgeStore>, t: Trigger, hooks: JudgeHooks = {}): Promise<Judgement> {
  const store = deps.store;
  const e = t.event;
  const stamp = triggerStamp(t);
  const outputs: Output[] = [];
  let freezesWithheld = 0;
  let breakerTripped = false;
  const judge = async (
    chatId: string,
    scope: Scope,
    options: { extra?: string[]; chat?: ChatState; via?: ChatJudgingStore } = {},
  ) => {
    const via = options.via ?? store;
    const judging = {
      chatId,
      scope,
      trigger: t,
      extra: options.extra ?? [],
      pending: hooks.pending ?? new Set<string>(),
      late: hooks.late,
    };
    const r = await reconcileChat(deps, via, judging, options.chat);
    outputs.push(...r.outputs);
    if (r.freezeWithheld) freezesWithheld++;
    if (r.freezeWithheld === 'tripped') breakerTripped = true;
  };
  const done = (messageAfterFreeze = false): Judgement => ({
    outputs,
    messageAfterFreeze,
    freezesWithheld,
    breakerTripped,
  });
  switch (e.type) {
    case 'user.registered': {
      if (!hooks.factApplied) await applyUserFact(store, t);
      for (const chatId of await store.chatsOf(e.userId)) await judge(chatId, { kind: 'user', userId: e.userId });
      return done();
    }
    case 'contact.approved':
    case 'contact.revoked': {
      if (!hooks.factApplied) await applyUserFact(store, t);
      // An approval only ends violations, and an ended violation is not judged (its episode is
      // keyed by when it began): nothing to read. On a backlog the approvals lag the chats, which
      // otherwise made every approval read every chat the pair came to share later.
      if (e.type === 'contact.approved') return done();
      const scope: Scope = { kind: 'pair', a: e.childId, b: e.contactId };
      for (const chatId of await sharedChats(store, e.childId, e.contactId)) await judge(chatId, scope);
      return done();
    }
    case 'chat.created':
    case 'member.added':
    case 'member.removed': {
      // A prepared chunk has this switch written already, and serves what judging reads first.
      const via = hooks.view ?? store;
      const { chatId, userIds, joined, scope } = membershipEffect(e);
      const chat = await via.applyMembership(chatId, userIds, joined, stamp);
      // A removal only ends violations (see contact.approved above).
      if (joined) await judge(chatId, scope, { chat, via });
      return done();
    }
    case 'message.sent': {
      // The stream reads the sender once the membership before the message is in (judge-chunk.ts).
      const sender = hooks.sender ?? (await store.readSender(e.chatId, e.senderId));
      const { member, afterFreeze } = messageStanding(sender, stamp);
      if (!member) {
        // A sender who is not a known member joins at that moment (contract §1).
        const chat = await store.applyMembership(e.chatId, [e.senderId], true, stamp);
        await judge(e.chatId, { kind: 'user', userId: e.senderId }, { extra: [e.senderId], chat });
      }
      return done(afterFreeze);
    }
  }
}

/**
 * A reviewer unfroze a chat: forget the freeze unless it is newer than the unfreeze. Then, a
 * violation that began after the unfreeze freezes the chat again (contract §3). It may already
 * have been judged, while the old freeze still stood, when the unfreeze is consumed late (its
 * partition lagged): its episode is open and says when it began, so it is frozen here.
 */
export async function judgeUnfreeze(
  deps: JudgeDeps<JudgeStore>,
  e: ChatUnfrozen,
  at: number,
  pending: ReadonlySet<string> = new Set(),
): Promise<UnfreezeJudgement> {
  const { store } = deps;
  let chat = await store.readChat(e.chatId);
  let unfrozen = false;
  // A refused lift means the freeze changed since it was read (marked sent, most often): read it
  // again and retry, so that the unfreeze is not lost.
  for (let attempt = 0; attempt < 3 && !unfrozen && chat.frozen && chat.frozen.record.triggerAt <= at; attempt++) {
    unfrozen = await store.liftFreeze(e.chatId, chat.frozen);
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
  const freeze = await freezeWithinBudget(deps, e.chatId, cause.alertId, cause.triggerAt);
  if (freeze === 'withheld' || freeze === 'tripped')
    return { ...none, freezesWithheld: 1, breakerTripped: freeze === 'tripped' };
  return freeze ? { ...none, outputs: [freeze] } : none;
}

/**
 * A freeze the breaker withheld, applied once a person has reset it: only while the violation
 * that caused it still stands (its episode is open) and the chat is not frozen already.
 */
export async function applyWithheldFreeze(
  deps: JudgeDeps<JudgeStore>,
  w: WithheldFreeze,
): Promise<{ outputs: Output[]; withheld: boolean; tripped: boolean }> {
  const none = { outputs: [], withheld: false, tripped: false };
  if (deps.mode !== 'enforce') return none;
  const chat = await deps.store.readChat(w.chatId);
  if (chat.frozen) return none;
  const cause = [...chat.episodes].find(([, ep]) => ep.record.alertId === w.alertId);
  if (!cause || !(await stillViolating(deps.store, chat, parsePairKey(cause[0])))) return none;
  const freeze = await freezeWithinBudget(deps, w.chatId, w.alertId, cause[1].record.triggerAt);
  if (freeze === 'withheld' || freeze === 'tripped')
    return { outputs: [], withheld: true, tripped: freeze === 'tripped' };
  return freeze ? { ...none, outputs: [freeze] } : none;
}

/**
 * Asks the breaker, then records the freeze: its command to send, the breaker's refusal, or null
 * when another judge froze the chat first (or, rebuilding, a reviewer cleared it already).
 */
async function freezeWithinBudget(
  deps: JudgeDeps<JudgeStore>,
  chatId: string,
  alertId: string,
  triggerAt: number,
): Promise<Output | 'withheld' | 'tripped' | null> {
  const take = await mayFreeze(deps, { chatId, alertId, triggerAt });
  if (take === 'cleared') return null;
  if (take !== 'granted') return take;
  const record: FreezeRecord = { alertId, requestedAt: deps.now(), triggerAt, sent: false };
  if (!(await deps.store.recordFreeze(chatId, record))) return null;
  return freezeOutput(chatId, written(record));
}

/** Whether the pair is in the chat and not allowed now, as far as the facts in state go. */
async function stillViolating(store: FactStore, chat: ChatState, pair: [string, string]): Promise<boolean> {
  if (!pair.every((u) => holdsAt(chat.members.get(u) ?? NEVER, Infinity))) return false;
  const users = await store.readUsers(
    new Map([
      [pair[0], [pair[1]]],
      [pair[1], [pair[0]]],
    ]),
  );
  return judgePair(pair[0], pair[1], factsAt(users, Infinity)) !== null;
}

async function sharedChats(store: FactStore, a: string, b: string): Promise<string[]> {
  const [ca, cb] = await Promise.all([store.chatsOf(a), store.chatsOf(b)]);
  const other = new Set(cb);
  return ca.filter((c) => other.has(c));
}
