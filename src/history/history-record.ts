/**
 * One record read back from history, classified once: an input event, a freeze or unfreeze on the
 * control topic, or a record the monitor would have dead-lettered. Carries the moment it is
 * ordered by, so the partitions of all topics can be merged into the order things happened.
 */
import { z } from 'zod';
import type { TopicRole } from '../config.js';
import type { DecodeFailure, DecodeLimits } from '../events/decode.js';
import { decodeControl, decodeInput } from '../events/decode.js';
import type { InputEvent } from '../events/schema.js';
import { TOPIC_RANK } from '../events/event-time.js';
import type { Order } from './merge.js';

/** The topics history is read from. */
export type HistoryRole = Extract<TopicRole, 'approvals' | 'membership' | 'messages' | 'control'>;

export const HISTORY_ROLES: readonly HistoryRole[] = ['approvals', 'membership', 'messages', 'control'];

/** What a record turned out to be. */
export type HistoryContent =
  | { kind: 'event'; event: InputEvent }
  | { kind: 'freeze'; chatId: string }
  | { kind: 'unfreeze'; chatId: string }
  | { kind: 'malformed'; reason: DecodeFailure; detail: string }
  /** A control-topic record that is neither a freeze nor an unfreeze. */
  | { kind: 'other' };

export interface HistoryRecord {
  /** Which input (or the control topic) it was read from. */
  role: HistoryRole;
  /** Topic name as read. */
  topic: string;
  partition: number;
  /** Offset as kafkajs gives it (a decimal string). */
  offset: string;
  /** The original key, unless the reader was told not to keep bytes. */
  key: Buffer | null;
  /** The original bytes (exporters need them; judging does not, and may leave them out). */
  value: Buffer | null;
  /**
   * Moment it is ordered by (ms): `occurredAt`, or `requestedAt` for pairguard's own `chat.freeze`.
   * A record without a usable moment takes the previous one of its partition, so it keeps its place.
   */
  at: number;
  /** Whether `at` came from the record itself. */
  timed: boolean;
  content: HistoryContent;
}

/** pairguard's own freeze command, read back from the control topic (contract §3). */
const freezeCommand = z.object({
  type: z.literal('chat.freeze'),
  chatId: z.string().min(1),
  requestedAt: z.iso.datetime({ offset: true }),
});

/** Event time (events/event-time.ts): the order the live monitor judges in, so history is judged the same way. */
export const historyOrder: Order<HistoryRecord> = (a, b) =>
  a.at - b.at ||
  TOPIC_RANK[a.role] - TOPIC_RANK[b.role] ||
  a.partition - b.partition ||
  Number(a.offset) - Number(b.offset);

/**
 * Classifies one record; `previousAt` is the moment of the record before it in its partition. With
 * its Kafka timestamp and `limits.maxClockSkewMs`, clock skew is bounded as the monitor bounds it.
 */
export function classify(
  role: HistoryRole,
  value: Buffer | null,
  limits: DecodeLimits,
  previousAt: number,
  recordTimestamp?: number,
): { content: HistoryContent; at: number; timed: boolean } {
  const untimed = (content: HistoryContent) => ({ content, at: previousAt, timed: false });
  const clock =
    recordTimestamp !== undefined && limits.maxClockSkewMs !== undefined
      ? { timestamp: recordTimestamp, maxSkewMs: limits.maxClockSkewMs }
      : undefined;
  if (role !== 'control') {
    const d = decodeInput(role, value, limits, clock);
    return d.ok
      ? { content: { kind: 'event', event: d.event }, at: d.at, timed: true }
      : untimed({ kind: 'malformed', reason: d.reason, detail: d.detail });
  }
  const unfrozen = decodeControl(value, limits, clock);
  if (unfrozen?.ok && unfrozen.event.type === 'chat.unfrozen')
    return { content: { kind: 'unfreeze', chatId: unfrozen.event.chatId }, at: unfrozen.at, timed: true };
  if (unfrozen?.ok) return untimed({ kind: 'other' });
  if (unfrozen) return untimed({ kind: 'malformed', reason: unfrozen.reason, detail: unfrozen.detail });
  // A JSON object of another type: pairguard's own freeze, or something for other tools.
  const freeze = freezeCommand.safeParse(JSON.parse(value!.toString('utf8')));
  if (freeze.success)
    return {
      content: { kind: 'freeze', chatId: freeze.data.chatId },
      at: Date.parse(freeze.data.requestedAt),
      timed: true,
    };
  return untimed({ kind: 'other' });
}
