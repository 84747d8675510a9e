/**
 * Reconciling a chat after an event: judge the pairs the event can have changed, then bring the
 * chat's decisions in line, in five steps read top to bottom: find the violations, plan the
 * decisions (pure), take them, confirm the episodes opened, freeze if they call for it; then the
 * outputs, alerts before the freeze that names them.
 */
import type { AlertAction } from '../actions/records.js';
import { alertIdOf } from '../actions/records.js';
import type { FactsNeeded } from '../policy/chat-facts.js';
import { factsAt, factsNeededAmong, membersAt, violationsThenAndNow } from '../policy/chat-facts.js';
import type { Scope, UnapprovedPairing } from '../policy/pairing.js';
import { judgePair, pairKey, parsePairKey, scopeCovers } from '../policy/pairing.js';
import { holdsAt } from '../policy/timeline.js';
import { written } from '../state/decisions.js';
import { NO_BREAKER } from '../state/freeze-breaker.js';
import type { FreezeBreaker, TakeResult } from '../state/freeze-breaker.js';
import { freezeVerdict } from '../state/learned.js';
import type { EpisodeRecord, FreezeRecord, Stored } from '../state/records.js';
import type { ChatState } from '../state/store.js';
import type { ChatJudgingStore, JudgeDeps, JudgeStore, Output, Trigger } from './judgement.js';
import { WITHHELD, alertOutput, freezeOutput } from './judgement.js';

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
  episode: Stored<EpisodeRecord>;
}

/** The decisions a judgement calls for, before any is taken. */
interface Plan {
  /** Violations already ended by facts consumed since: reported, nothing to freeze. */
  over: UnapprovedPairing[];
  recovered: Recovered[];
  toOpen: Opening[];
  /** Open episodes in scope whose pair no longer violates. */
  toClose: Array<[string, Stored<EpisodeRecord>]>;
}

/**
 * Judges a chat and takes the decisions. `decisions` serves what is read first and takes the
 * decisions (a prepared chunk, or the store itself); the re-read that confirms an opened episode
 * always goes to the store itself.
 */
export async function reconcileChat(
  deps: JudgeDeps<JudgeStore>,
  decisions: ChatJudgingStore,
  j: ChatJudging,
  /** The chat as its trigger's own write read it back; read here when absent. */
  read?: ChatState,
): Promise<Reconciled> {
  const chat = read ?? (await decisions.readChat(j.chatId));
  const found = await findViolations(decisions, chat, j);
  const plan = planDecisions(deps, chat, j, found);
  const opened = await takeDecisions(decisions, j.chatId, plan);
  const { confirmed, stale, frozen } = await confirmOpened(deps.store, decisions, j.chatId, opened, chat.frozen);
  plan.over.push(...stale);
  // The episodes this trigger opened: new ones, and ones an earlier run opened for the same
  // trigger before it died (which may also have died before recording the freeze).
  const causes = [...confirmed.map((o) => o.episode.record), ...plan.recovered.map((r) => r.episode.record)];
  const freeze = await freezeFor(deps, decisions, j, causes, frozen);
  return { outputs: outputsOf(deps, j, plan, confirmed, freeze), freezeWithheld: freeze.withheld };
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

/**
 * Judged twice: as of the event (what the event itself did) and as of now (what is true given
 * every fact consumed so far). A revocation consumed before the chat it applies to is only visible
 * "now"; an approval consumed early but made after the event is only visible "then". Reported:
 * both; still violating: now.
 */
async function findViolations(
  store: ChatJudgingStore,
  chat: ChatState,
  j: ChatJudging,
): Promise<{ reported: UnapprovedPairing[]; stillViolating: ReadonlySet<string> }> {
  const at = j.trigger.at;
  const users = await store.readUsers(factsNeeded(chat, j.scope, at, j.extra));
  const { atEvent, current } = violationsThenAndNow({ members: chat.members, users }, j.scope, at, j.extra);
  const stillViolating = new Set(current.map((p) => pairKey(p.pair)));
  if (current.length > 0) {
    const seenAtEvent = new Set(atEvent.map((p) => pairKey(p.pair)));
    for (const p of current) if (!seenAtEvent.has(pairKey(p.pair))) atEvent.push(p);
  }
  return { reported: atEvent, stillViolating };
}

/** Sorts each violation found against the chat's open episodes, and finds the episodes to close. */
function planDecisions(
  deps: Pick<JudgeDeps<JudgeStore>, 'now'>,
  chat: ChatState,
  j: ChatJudging,
  found: { reported: readonly UnapprovedPairing[]; stillViolating: ReadonlySet<string> },
): Plan {
  const plan: Plan = { over: [], recovered: [], toOpen: [], toClose: [] };
  for (const pairing of found.reported) {
    const key = pairKey(pairing.pair);
    const alertId = alertIdOf(j.chatId, pairing.pair, j.trigger.ref.eventId);
    const existing = chat.episodes.get(key);
    if (existing) {
      // Same alertId and never sent: an earlier run opened this episode and stopped before
      // writing its alert. Send it now; a consumer drops the copy if it did get out.
      if (existing.record.alertId === alertId && !existing.record.sent && !j.pending.has(alertId))
        plan.recovered.push({ pairing, episode: existing });
      continue;
    }
    if (!found.stillViolating.has(key)) {
      plan.over.push(pairing);
      continue;
    }
    const record: EpisodeRecord = { alertId, openedAt: deps.now(), triggerAt: j.trigger.at, sent: false };
    plan.toOpen.push({ pairing, key, episode: written(record) });
  }
  if (chat.episodes.size > 0)
    plan.toClose = [...chat.episodes].filter(
      ([key]) => scopeCovers(j.scope, parsePairKey(key)) && !found.stillViolating.has(key),
    );
  return plan;
}

/** Opens and closes episodes; they touch different fields, so they go out together, one round trip. */
async function takeDecisions(decisions: ChatJudgingStore, chatId: string, plan: Plan): Promise<Opening[]> {
  if (plan.toOpen.length === 0 && plan.toClose.length === 0) return [];
  const [openedFlags] = await Promise.all([
    Promise.all(plan.toOpen.map((o) => decisions.openEpisode(chatId, o.key, o.episode.record))),
    Promise.all(plan.toClose.map(([key, episode]) => decisions.closeEpisode(chatId, key, episode))),
  ]);
  return plan.toOpen.filter((_, i) => openedFlags[i]);
}

/**
 * Re-reads after deciding: an approval applied by another judge between our read and our decision
 * must close what we just opened, or the stale episode would hide a later violation.
 */
async function confirmOpened(
  store: JudgeStore,
  decisions: ChatJudgingStore,
  chatId: string,
  opened: Opening[],
  frozenAsRead: Stored<FreezeRecord> | null,
): Promise<{ confirmed: Opening[]; stale: UnapprovedPairing[]; frozen: Stored<FreezeRecord> | null }> {
  if (opened.length === 0) return { confirmed: opened, stale: [], frozen: frozenAsRead };
  const [again, users] = await Promise.all([
    store.readChat(chatId),
    store.readUsers(pairsNeeds(opened.map((o) => o.pairing.pair))),
  ]);
  const membersNow = new Set(membersAt({ members: again.members, users }, Infinity));
  const factsNow = factsAt(users, Infinity);
  const isStale = ({ pairing: { pair } }: Opening) =>
    !membersNow.has(pair[0]) || !membersNow.has(pair[1]) || judgePair(pair[0], pair[1], factsNow) === null;
  const stale = opened.filter(isStale);
  await Promise.all(stale.map((o) => decisions.closeEpisode(chatId, o.key, o.episode)));
  return {
    confirmed: opened.filter((o) => !stale.includes(o)),
    stale: stale.map((o) => o.pairing),
    frozen: again.frozen,
  };
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

/** Alerts first (ended violations, confirmed ones, recovered ones), then the freeze that names them. */
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
    ...plan.over.map((p) => alertOutput(deps, chatId, p, t, 'alert-only')),
    ...confirmed.map((o) => alertOutput(deps, chatId, o.pairing, t, action, { key: o.key, stored: o.episode }, why)),
    ...plan.recovered.map((r): Output => ({
      ...alertOutput(deps, chatId, r.pairing, t, action, { key: pairKey(r.pairing.pair), stored: r.episode }, why),
      recovered: true,
    })),
    ...freeze.freezes,
  ];
}
