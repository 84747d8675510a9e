/** The records pairguard writes (contract §3). */
import { createHash } from 'node:crypto';
import type { ApprovalEdge } from '../policy/pairing.js';

/** Where the event that revealed a violation was read. */
export interface TriggerRef {
  eventId: string;
  type: string;
  topic: string;
  partition: number;
  offset: number;
}

export type AlertAction = 'frozen' | 'alert-only';

/** Value of a `pairing.unapproved` record on the alerts topic. */
export interface AlertRecord {
  type: 'pairing.unapproved';
  alertId: string;
  chatId: string;
  pair: [string, string];
  missing: ApprovalEdge[];
  affectedChildren: string[];
  trigger: TriggerRef;
  occurredAt: string;
  detectedAt: string;
  action: AlertAction;
}

/** Value of a `chat.freeze` record on the control topic. */
export interface FreezeCommand {
  type: 'chat.freeze';
  chatId: string;
  alertId: string;
  reason: 'unapproved-pairing';
  requestedAt: string;
}

/** Value of a record on the dead-letter topic. */
export interface DeadLetter {
  error: string;
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  /** The original value as base64; null when it had to be withheld (see `redacted`). */
  value: string | null;
  /** Fields removed from `value` because they may hold a child's message text. */
  redacted?: string[];
}

/**
 * Same chat, pair and triggering event give the same id, so a consumer can drop the duplicate
 * that an at-least-once restart replays. The trigger is named by its eventId, not its offset, so
 * the same event replayed from a file yields the same id too.
 */
export function alertIdOf(chatId: string, pair: readonly [string, string], eventId: string): string {
  return createHash('sha256').update(`${chatId}\u0000${pair[0]}\u0000${pair[1]}\u0000${eventId}`).digest('hex').slice(0, 32);
}

export function affectedChildren(missing: readonly ApprovalEdge[]): string[] {
  return [...new Set(missing.map((m) => m.childId))].sort();
}
