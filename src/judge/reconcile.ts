/**
 * Reconciling a chat after an event: find the violations the event began, plan the decisions
 * (pure), take them, freeze if they call for it; then the outputs, alerts before the freeze that
 * names them. Read top to bottom.
 *
 * Judgement is in event time (events/event-time.ts): the stream judges a record only once every
 * fact earlier than it is in state (stream/frontier.ts), and every fact keeps its whole history,
 * so "did this event begin a violation of the pair" has one answer, whatever order or lag the
 * topics were consumed with: the pair violates as of the event and did not just before it. Facts
 * applied since (later in event time) change nothing about it. An episode is identified by its pair
 * and the stamp it began at, so each is decided once, by whichever judge gets there.
 *
 * A record can be late: put on its topic after records later in event time were judged without
 * it (a producer that stamps `occurredAt` and writes seconds later, or topics produced at once
 * and read by consumers that run ahead of each other). A late record that can begin a violation
 * is judged once every fact up to the moment judging had passed is in state, and also looks at
 * that moment: a pair in violation then whose latest episode began after the record, and that no
 * judge decided, is alerted with the late record as its trigger, so a late revocation is not
 * missed.
 */
import type { AlertAction } from '../actions/records.js';
import { alertIdOf } from '../actions/records.js';
import type { FactsNeeded } from '../policy/chat-facts.js';
import { factsNeededAmong, latestStart, violationsAtTwo } from '../policy/chat-facts.js';
import type { Scope, UnapprovedPairing } from '../policy/pairing.js';
import { episodeKey } from '../policy/pairing.js';
import type { Moment, Stamp } from '../policy/timeline.js';
import { compareMoments, holdsAt } from '../policy/timeline.js';
import { written } from '../state/decisions.js';
import { NO_BREAKER } from '../state/freeze-breaker.js';
import type { FreezeBreaker, TakeResult } from '../state/freeze-breaker.js';
import { freezeVerdict } from '../state/learned.js';
import type { EpisodeRecord, FreezeRecord, Stored } from '../state/records.js';
import type { ChatState } from '../state/store.js';
import type { ChatJudgingStore, JudgeDeps, JudgeStore, Output, Trigger } from './judgement.js';
import { WITHHELD, alertOutput, freezeOutput, triggerStamp } from './judgement.js';

/** Whether a freeze the chat called for was withheld by the breaker, and whether that tripped it. */
export type FreezeWithheld = false | Exclude<TakeResult, 'granted'>;

/** A chat reconciled: its outputs, and whether its freeze was withheld. */
export interface Reconciled {
  outputs: Output[];
  freezeWithheld: FreezeWithheld;
}

/** What to judge: a scope of a chat, as of the trigger, with users to judge as members (`extra`). */
export interface ChatJudging {
  chatId: string;
  scope: Scope;
  trigger: Trigger;
  /** Users judged as members though the chat does not hold them (a sender joining by a message). */
  extra: readonly string[];
  /** Alert ids decided but not written yet: their unsent decisions are pending, not lost. */
  pending: ReadonlySet<string>;
  /** The trigger is late: judging had passed this moment (ms) before it was in state (JudgeHooks.late). */
  late?: number;
}

/** An episode this judgement decided to open. */
interface Opening {
  pairing: UnapprovedPairing;
  key: string;
  episode: Stored<EpisodeRecord>;
}

/** An episode an earlier run opened for this same trigger and whose alert it may never have sent. */
interface Recovered {
  pairing: UnapprovedPairing;
  key: string;
  episode: Stored<EpisodeRecord>;
}

/** The decisions a judgement calls for, before any is taken. */
interface Plan {
  recovered: Recovered[];
  toOpen: Opening[];
}

/** A violation episode the trigger is to be alerted for: its pairing and its key (pair, began). */
interface Begun {
  pairing: UnapprovedPairing;
  key: string;
}

/**
 * Judges a chat and takes the decisions. `decisions` serves what is read and takes the decisions
 * (a prepared chunk, or the store itself).
 */
export async function reconcileChat(
  deps: JudgeDeps<JudgeStore>,
  decisions: ChatJudgingStore,
  j: ChatJudging,
  /** The chat as its trigger's own write read it back; read here when absent. */
  read?: ChatState,
): Promise<Reconciled> {
  const chat = read ?? (await decisions.readChat(j.chatId));
  const begun = await findBegun(decisions, chat, j);
  const plan = planDecisions(deps, chat, j, begun);
  const opened = await takeDecisions(decisions, j.chatId, plan);
  // The episodes this trigger opened: new ones, and ones an earlier run opened for the same
  // trigger before it died (which may also have died before recording the freeze).
  const causes = [...opened.map((o) => o.episode.record), ...plan.recovered.map((r) => r.episode.record)];
  const freeze = await freezeFor(deps, decisions, j, causes, chat.frozen);
  return { outputs: outputsOf(deps, j, plan, opened, freeze), freezeWithheld: freeze.withheld };
}

/**
 * Which users' facts judging `scope` of a chat needs: those of its members as of the event (with
 * `extra`), as of now, and as of `also` (for a late trigger, the moment judging had passed, where
 * it is judged too: a member of then, gone now and not yet there at the event, is needed).
 */
export function factsNeeded(
  chat: ChatState,
  scope: Scope,
  at: Moment,
  extra: readonly string[],
  also?: Moment,
): FactsNeeded {
  const members = new Set(extra);
  chat.members.forEach((t, userId) => {
    if (holdsAt(t, at) || holdsAt(t, Infinity) || (also !== undefined && holdsAt(t, also))) members.add(userId);
  });
  return factsNeededAmong(members, scope);
}

/**
 * The violations the trigger began: pairs in violation as of the event and not just before it.
 * For a late trigger, also the pairs in violation now whose latest episode began after it and
 * was perhaps judged without it (its key says when it began, so its own trigger, judged again,
 * finds it decided).
 */
async function findBegun(store: ChatJudgingStore, chat: ChatState, j: ChatJudging): Promise<Begun[]> {
  const at = triggerStamp(j.trigger);
  const late = j.late !== undefined && canBegin(j.trigger.event.type) ? judgedPast(j.late) : undefined;
  const users = await store.readUsers(factsNeeded(chat, j.scope, at, j.extra, late));
  const facts = { members: chat.members, users };
  // A sender joining by a message is in the chat's history at the message's stamp: no `extra` needed.
  const { first: before, second: atEvent } = violationsAtTwo(facts, j.scope, [{ at, before: true }, { at }]);
  const wasViolating = new Set(before.map((p) => episodeKey(p.pair, [])));
  const begun = atEvent
    .filter((p) => !wasViolating.has(episodeKey(p.pair, [])))
    .map((pairing) => ({ pairing, key: episodeKey(pairing.pair, at) }));
  // Only an event that can begin a violation can have been missed for being late: an approval or
  // a removal judged late can only have ended one (contract §1).
  if (late === undefined) return begun;
  // As of the moment judging had passed: every fact up to it is in state when a late record is
  // judged (judge-chunk.ts waits for that), and a violation begun later is judged by its own
  // record, in its turn, which names it.
  const passed = late;
  const { second: then } = violationsAtTwo(facts, j.scope, [{ at }, { at: passed }]);
  for (const pairing of then) {
    const began = latestStart(facts, pairing.pair, passed);
    if (began && compareMoments(began, at) > 0) begun.push({ pairing, key: episodeKey(pairing.pair, began) });
  }
  return begun;
}

/** The latest stamp of a millisecond: judging that passed `ms` passed every record of it. */
export const judgedPast = (ms: number): Stamp => [
  ms,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER,
];

/** Whether an event can make a pairing appear (contract §1): approvals and removals only end violations. */
export const canBegin = (type: string): boolean => CAN_BEGIN.has(type);

const CAN_BEGIN: ReadonlySet<string> = new Set([
  'chat.created',
  'member.added',
  'message.sent',
  'contact.revoked',
  'user.registered',
]);

/** Sorts each violation begun against the chat's episodes: new, already decided, or decided and never sent. */
function planDecisions(
  deps: Pick<JudgeDeps<JudgeStore>, 'now'>,
  chat: ChatState,
  j: ChatJudging,
  begun: readonly Begun[],
): Plan {
  const plan: Plan = { recovered: [], toOpen: [] };
  for (const { pairing, key } of begun) {
    const alertId = alertIdOf(j.chatId, pairing.pair, j.trigger.ref.eventId);
    const existing = chat.episodes.get(key);
    if (existing) {
      // Same alertId and never sent: an earlier run opened this episode and stopped before
      // writing its alert. Send it now; a consumer drops the copy if it did get out.
      if (existing.record.alertId === alertId && !existing.record.sent && !j.pending.has(alertId))
        plan.recovered.push({ pairing, key, episode: existing });
      continue;
    }
    const record: EpisodeRecord = { alertId, openedAt: deps.now(), triggerAt: j.trigger.at, sent: false };
    plan.toOpen.push({ pairing, key, episode: written(record) });
  }
  return plan;
}

/** Opens the episodes, in one round trip; those another judge opened first are not ours. */
async function takeDecisions(decisions: ChatJudgingStore, chatId: string, plan: Plan): Promise<Opening[]> {
  if (plan.toOpen.length === 0) return [];
  const opened = await Promise.all(plan.toOpen.map((o) => decisions.openEpisode(chatId, o.key, o.episode.record)));
  return plan.toOpen.filter((_, i) => opened[i]);
}

export const breakerOf = (deps: JudgeDeps<JudgeStore>): FreezeBreaker => deps.breaker ?? NO_BREAKER;

/** A freeze asked for: what caused it, and whether its trigger was judged once before the state was lost. */
export interface FreezeAsk {
  chatId: string;
  alertId: string;
  triggerAt: number;
  /** Where the trigger was read, when a record triggered it (a reviewer's unfreeze or a breaker reset did not). */
  ref?: Pick<Trigger['ref'], 'topic' | 'partition' | 'offset'>;
}

/**
 * Whether a freeze may be recorded: the breaker's answer; or, while a rebuild consults what was
 * written before the state was lost (state/learned.ts), `granted` without spending budget for a
 * freeze on the control topic already, `cleared` for one a reviewer cleared since.
 */
export async function mayFreeze(deps: JudgeDeps<JudgeStore>, ask: FreezeAsk): Promise<TakeResult | 'cleared'> {
  if (deps.learned) {
    const replayed = ask.ref ? deps.learned.replayed(ask.ref.topic, ask.ref.partition, ask.ref.offset) : false;
    const chat = await deps.learned.learnedChat(ask.chatId);
    const verdict = freezeVerdict(chat, { alertId: ask.alertId, triggerAt: ask.triggerAt, replayed });
    if (verdict === 'cleared') return 'cleared';
    if (verdict === 'written') return 'granted';
  }
  return breakerOf(deps).take(ask.chatId, ask.alertId, deps.now());
}

/** The freeze this judgement sends (new, or one an earlier run recorded and may not have sent). */
interface FreezeOutcome {
  freezes: Output[];
  frozen: Stored<FreezeRecord> | null;
  withheld: FreezeWithheld;
}

/**
 * Freezes the chat when this trigger opened a violation and nothing froze it yet, within the
 * breaker's cap; or re-sends the freeze an earlier run recorded for it and may have lost.
 */
async function freezeFor(
  deps: JudgeDeps<JudgeStore>,
  decisions: ChatJudgingStore,
  j: ChatJudging,
  causes: readonly EpisodeRecord[],
  frozen: Stored<FreezeRecord> | null,
): Promise<FreezeOutcome> {
  const none: FreezeOutcome = { freezes: [], frozen, withheld: false };
  if (deps.mode === 'enforce' && causes.length > 0 && !frozen) {
    // Asked only now, when a freeze follows: the breaker counts freezes, not violations.
    const take = await mayFreeze(deps, {
      chatId: j.chatId,
      alertId: causes[0]!.alertId,
      triggerAt: j.trigger.at,
      ref: j.trigger.ref,
    });
    // A rebuild's freeze that a reviewer already cleared: not frozen again.
    if (take === 'cleared') return none;
    // Breaker open: keep alerting, stop freezing. The alert says so; a person resets it.
    if (take !== 'granted') return { ...none, withheld: take };
    const record: FreezeRecord = {
      alertId: causes[0]!.alertId,
      requestedAt: deps.now(),
      triggerAt: j.trigger.at,
      sent: false,
    };
    if (!(await decisions.recordFreeze(j.chatId, record)))
      return { ...none, frozen: (await decisions.readChat(j.chatId)).frozen };
    const recorded = written(record);
    return { ...none, freezes: [freezeOutput(j.chatId, recorded)], frozen: recorded };
  }
  if (
    frozen &&
    !frozen.record.sent &&
    !j.pending.has(frozen.record.alertId) &&
    causes.some((c) => c.alertId === frozen.record.alertId)
  )
    return { ...none, freezes: [{ ...freezeOutput(j.chatId, frozen), recovered: true }] };
  return none;
}

/** Alerts first (opened, then recovered), then the freeze that names them. */
function outputsOf(
  deps: JudgeDeps<JudgeStore>,
  j: ChatJudging,
  plan: Plan,
  confirmed: readonly Opening[],
  freeze: FreezeOutcome,
): Output[] {
  const { chatId, trigger: t } = j;
  const action: AlertAction = deps.mode === 'enforce' && freeze.frozen ? 'frozen' : 'alert-only';
  const why = freeze.withheld ? WITHHELD : undefined;
  return [
    ...confirmed.map((o) => alertOutput(deps, chatId, o.pairing, t, action, { key: o.key, stored: o.episode }, why)),
    ...plan.recovered.map((r): Output => ({
      ...alertOutput(deps, chatId, r.pairing, t, action, { key: r.key, stored: r.episode }, why),
      recovered: true,
    })),
    ...freeze.freezes,
  ];
}
