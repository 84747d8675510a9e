/**
 * The answer file `pairguard generate` writes beside a history: exactly which chats must be
 * flagged, with every episode of every unapproved pair. The format is in the README
 * ("Answer file"); the version in `format` changes when a field's meaning does.
 */
import type { GeneratorOptions, ViolationKind } from './options.js';

export const ANSWERS_FORMAT = 'pairguard-synthetic-answers/1';

export interface AnswerEpisode {
  /** `occurredAt` of the event that began it. */
  start: string;
  /** `occurredAt` of the event that ended it; null when still open at the end of the history. */
  end: string | null;
  /** end − start; for an open episode, up to the last event of the history. */
  durationMs: number;
  /** eventId of the event that began it. */
  openedBy: string;
  /** eventId of the event that ended it, or null. */
  closedBy: string | null;
}

export interface AnswerChat {
  chatId: string;
  /** Which injected violations reached this chat (a revocation reaches every chat holding the pair). */
  causes: ViolationKind[];
  /** Each unapproved pair (sorted) with its episodes, oldest first. */
  pairs: Array<{ pair: [string, string]; episodes: AnswerEpisode[] }>;
  /** eventId of the event that began the chat's first episode. */
  firstOffendingEventId: string;
  /** eventId of the last event that began an episode here, or of the chat's own last event while in violation. */
  lastOffendingEventId: string;
  /** Time the chat held at least one unapproved pair (union of its episodes). */
  violationMs: number;
  /** Still in violation at the end of the history. */
  ongoing: boolean;
}

export interface SyntheticAnswers {
  format: typeof ANSWERS_FORMAT;
  /** The knobs the history was generated with (all of them, defaults filled in). */
  options: GeneratorOptions;
  /** Events written. */
  events: number;
  firstEventAt: string;
  lastEventAt: string;
  /** Who is on the platform at the end. */
  population: { families: number; adults: number; children: number; strangers: number; chats: number };
  /** Violations injected, by kind. */
  injected: Record<ViolationKind, number>;
  /** Every chat that was ever in violation, by chatId. */
  chats: AnswerChat[];
}
