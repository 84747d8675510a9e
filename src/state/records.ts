/** What pairguard remembers about its own decisions, per chat (state/codec.ts has their stored form). */

/** An open violation episode of one pair: at most one alert per pair per episode. */
export interface EpisodeRecord {
  /** The alert that opened the episode. */
  alertId: string;
  /** When it was detected (ms). */
  openedAt: number;
  /** `occurredAt` of the event that opened it (ms); 0 in records written before it was kept. */
  triggerAt: number;
  /** Whether the alert reached the alerts topic; false means a crash may have lost it. */
  sent: boolean;
}

/** A freeze pairguard requested; cleared by `chat.unfrozen`. */
export interface FreezeRecord {
  /** The alert that caused the freeze. */
  alertId: string;
  /** When the freeze was requested (ms). */
  requestedAt: number;
  /** `occurredAt` of the event that caused it (ms): an unfreeze older than this is stale. */
  triggerAt: number;
  /** Whether the freeze command reached the control topic. */
  sent: boolean;
}

/** A decision as read: the record, and the stored form that a compare-and-set of it must still find. */
export interface Stored<R> {
  /** The stored form, opaque above the store: hand it back to change the decision. */
  raw: string;
  /** The decision. */
  record: R;
}

/**
 * A decision to mark as sent once its output is written (state/decisions.ts builds it; `markSent`
 * applies it). Opaque above the store: its fields are the store's compare-and-set.
 */
export interface SentMark {
  /** The chat the decision is about. */
  chatId: string;
  /** Where the decision is kept in the chat (opaque). */
  field: string;
  /** The decision's stored form as decided (opaque). */
  expected: string;
  /** Its stored form once sent (opaque). */
  next: string;
}
