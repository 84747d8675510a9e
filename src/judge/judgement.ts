/** What judging takes (its ports, the trigger, the stream's hooks) and what it gives (outputs to write). */
import type { InputEvent } from '../events/schema.js';
import type { AlertAction, AlertRecord, FreezeCommand, TriggerRef } from '../actions/records.js';
import { affectedChildren, alertIdOf, SCHEMA_VERSION } from '../actions/records.js';
import { eventStamp } from '../events/event-time.js';
import type { UnapprovedPairing } from '../policy/pairing.js';
import type { Stamp } from '../policy/timeline.js';
import { episodeSent, freezeSent } from '../state/decisions.js';
import type { FreezeBreaker } from '../state/freeze-breaker.js';
import type { LearnedDecisions } from '../state/learned.js';
import type { EpisodeRecord, FreezeRecord, SentMark, Stored } from '../state/records.js';
import type { ChatFactStore, DecisionStore, FactStore, SenderState, StateStore } from '../state/store.js';
import type { Mode } from '../config.js';

/** The ports judging uses: facts to write and read, decisions to take. */
export type JudgeStore = FactStore & DecisionStore;

/** What judging a chat reads first and where it takes decisions: the store, or a prepared chunk. */
export type ChatJudgingStore = ChatFactStore & DecisionStore;

/**
 * The judge's dependencies. `S` is the store the caller holds: the judge uses only `JudgeStore` of
 * it; the stream passes its whole `StateStore`, which it also marks offsets with.
 */
export interface JudgeDeps<S extends JudgeStore = StateStore> {
  /** Facts and decisions (and, for the caller, whatever else `S` has). */
  store: S;
  /** Freeze, or only alert. */
  mode: Mode;
  /** Wall clock in ms (injected for tests). */
  now: () => number;
  /** Caps automatic freezes across instances (state/freeze-breaker.ts); absent: no cap. */
  breaker?: FreezeBreaker;
  /** While lost state is rebuilt: the freezes already written, learned from the topics (state/learned.ts). */
  learned?: LearnedDecisions;
}

/** The event being judged, with where it was read. */
export interface Trigger {
  /** The event. */
  event: InputEvent;
  /** The moment judged, in ms: `occurredAt`, or its record's timestamp when that is too far behind it (events/decode.ts, judgedMoment). */
  at: number;
  /** Where it was read, as alerts cite it. */
  ref: TriggerRef;
}

/** The trigger's place in event time (events/event-time.ts): the moment its facts are judged as of. */
export function triggerStamp(t: Trigger): Stamp {
  return eventStamp(t.event.type, t.at, t.ref.partition, t.ref.offset);
}

/** Per-call hooks from the stream layer. */
export interface JudgeHooks {
  /**
   * Alert ids this process decided and has not written yet (its current batch): an unsent
   * decision with one of these ids is pending, not lost, and must not be sent twice.
   */
  pending?: ReadonlySet<string>;
  /**
   * The record is late: when it was first applied, judging had passed this moment (ms) without
   * it (stream/frontier.ts). Its judgement then also alerts the violations it began that were
   * judged without it, those begun by this moment (judge/reconcile.ts); every record on the input
   * topics is in state when it is judged, so "now" holds every fact.
   */
  late?: number;
  /** The event's approval or registration is in state already (stream/batch/apply-facts.ts): judge it, do not write it again. */
  factApplied?: boolean;
  /** The sender's state for a `message.sent`, read beforehand with the rest of its batch. */
  sender?: SenderState;
  /**
   * The chunk a membership record was prepared in (judge/chunk.ts): its switch is already written,
   * and what judging reads first is served from memory. Decisions are confirmed against the store.
   */
  view?: ChatJudgingStore;
}

/** A record to write; `mark` is applied (`markSent`) once it is written; `recovered` marks one re-sent because an earlier run may have lost it. */
export type Output =
  | { kind: 'alert'; chatId: string; record: AlertRecord; mark?: SentMark; recovered?: boolean }
  | { kind: 'freeze'; chatId: string; record: FreezeCommand; mark?: SentMark; recovered?: boolean };

export interface Judgement {
  /** Alerts and freeze commands to write, in order. */
  outputs: Output[];
  /** Chats that should have been frozen but were not, because the freeze breaker is open. */
  freezesWithheld: number;
  /** This judgement's freeze tripped the breaker. */
  breakerTripped?: boolean;
  /** A message was sent in a chat pairguard had frozen: the platform did not enforce the freeze. */
  messageAfterFreeze: boolean;
}

/** What a reviewer's `chat.unfrozen` did. */
export interface UnfreezeJudgement {
  /** The freeze in force was lifted. */
  unfrozen: boolean;
  /** A freeze for a violation newer than the unfreeze (possibly one re-sent after a crash). */
  outputs: Output[];
  /** 1 when that freeze was withheld by the open breaker. */
  freezesWithheld: number;
  /** That freeze tripped the breaker. */
  breakerTripped?: boolean;
}

/** What an alert says when its freeze was withheld by the open breaker. */
export const WITHHELD = 'freeze-breaker-open' as const;

/** The alert for a pairing; with its episode, the alert marks the episode sent once written. */
export function alertOutput(
  deps: Pick<JudgeDeps<JudgeStore>, 'now'>,
  chatId: string,
  pairing: UnapprovedPairing,
  t: Trigger,
  action: AlertAction,
  episode?: { key: string; stored: Stored<EpisodeRecord> },
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
  return episode
    ? { kind: 'alert', chatId, record, mark: episodeSent(chatId, episode.key, episode.stored) }
    : { kind: 'alert', chatId, record };
}

/** The freeze command for a recorded freeze, which it marks sent once written. */
export function freezeOutput(chatId: string, frozen: Stored<FreezeRecord>): Output {
  const record: FreezeCommand = {
    schemaVersion: SCHEMA_VERSION,
    type: 'chat.freeze',
    chatId,
    alertId: frozen.record.alertId,
    reason: 'unapproved-pairing',
    requestedAt: new Date(frozen.record.requestedAt).toISOString(),
  };
  return { kind: 'freeze', chatId, record, mark: freezeSent(chatId, frozen) };
}
