/** What an audit reports: violation episodes per pair, rolled up per chat (the `--json` shape). */
import type { TriggerRef } from '../actions/records.js';
import type { ApprovalEdge } from '../policy/pairing.js';

/** An event of history, named so it can be found again on its topic. */
export interface EventRef extends TriggerRef {
  /** The event's `occurredAt`. */
  occurredAt: string;
}

/** One stretch of time during which a pair was together in a chat without being allowed. */
export interface AuditedEpisode {
  /** When it began: the `occurredAt` of the event after which the pair was in the chat and not allowed. */
  start: string;
  /** When it ended (the pair became allowed or a member left); null while still open at the end of history. */
  end: string | null;
  /** Still open when history (or `--until`) ended. */
  ongoing: boolean;
  /** end − start; for an ongoing episode, up to the last event read. */
  durationMs: number;
  /** Approval directions missing when it began. */
  missing: ApprovalEdge[];
  /** The event that began it. */
  opened: EventRef;
  /** The event that ended it; null while ongoing. */
  closed: EventRef | null;
}

/** A pair of one chat and its episodes, oldest first. */
export interface AuditedPair {
  /** The two users, sorted. */
  pair: [string, string];
  episodes: AuditedEpisode[];
}

/** A chat that was in violation at some moment of the audited window. */
export interface AuditedChat {
  chatId: string;
  /** Every unapproved pairing it held, sorted. */
  pairs: AuditedPair[];
  /** The event that began the chat's earliest reported episode. */
  firstOffending: EventRef;
  /**
   * The latest offending event: one that began an episode in this chat, or one of the chat's own
   * events (a membership change or a message in it) after which the chat was still in violation.
   */
  lastOffending: EventRef;
  /** Time the chat held at least one unapproved pairing (the union of its episodes, not their sum). */
  violationMs: number;
  /** Still in violation at the end of history. */
  ongoing: boolean;
  /** A `chat.freeze` for this chat is on the control topic. */
  frozen: boolean;
  /** `requestedAt` of the first such freeze. */
  frozenAt: string | null;
}

/** Counts over the whole read, for the summary line and `--json`. */
export interface AuditSummary {
  /** Records read from the input and control topics. */
  records: number;
  /** Input events judged. */
  events: number;
  /** Records the monitor would dead-letter, by reason; they are skipped. */
  malformed: Record<string, number>;
  /** Events whose `occurredAt` was earlier than an event already judged (a partition written out of order). */
  outOfOrder: number;
  /** `occurredAt` of the first and last event judged. */
  firstEventAt: string | null;
  lastEventAt: string | null;
  /** The window asked for (`--since`, `--until`), or null. */
  since: string | null;
  until: string | null;
  /** Chats reported, of which still in violation, and frozen. */
  chats: number;
  ongoing: number;
  frozen: number;
  /** Wall time the audit took. */
  seconds: number;
}

export interface AuditReport {
  summary: AuditSummary;
  chats: AuditedChat[];
}
