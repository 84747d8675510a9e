/**
 * The records pairguard writes (contract §3), as zod schemas: the builders are typed from them and
 * the published JSON Schemas (src/schemas/) are generated from them, so neither can drift.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { id, INPUT_EVENT_TYPES, isoDateTime } from '../events/schema.js';
import type { ApprovalEdge } from '../policy/pairing.js';

/** Carried by every output record; raised only by a change that is not additive (contract §6). */
export const SCHEMA_VERSION = 1;

const schemaVersion = z
  .literal(SCHEMA_VERSION)
  .describe(
    'Raised only by an incompatible change; within a version, fields are only added. Ignore fields you do not know.',
  );
const kafkaOffset = z.int().min(0);
const partition = z.int().min(0);

export const triggerRef = z
  .object({
    eventId: id.describe('The eventId of the event whose judging revealed the violation.'),
    type: z.enum(INPUT_EVENT_TYPES).describe("That event's type."),
    topic: z.string().min(1).describe('The topic it was read from.'),
    partition: partition.describe('Its partition.'),
    offset: kafkaOffset.describe('Its offset.'),
  })
  .describe('Where the event that revealed a violation was read.');

export const alertAction = z
  .enum(['frozen', 'alert-only'])
  .describe(
    '`frozen`: a chat.freeze was requested for the chat; `alert-only`: none was (mode alert-only, freeze budget spent, or the pairing is already over).',
  );

const approvalEdge = z.object({
  childId: id.describe('The child whose guardian must approve.'),
  contactId: id.describe('The contact that needs that approval.'),
});

export const alertRecord = z
  .object({
    schemaVersion,
    type: z.literal('pairing.unapproved'),
    alertId: z
      .string()
      .regex(/^[0-9a-f]{32}$/)
      .describe(
        'Deterministic: the same chat, pair and triggering event give the same id, so a consumer can drop duplicates.',
      ),
    chatId: id.describe('The chat in violation; the Kafka key.'),
    pair: z.tuple([id, id]).describe('The two members who must not be together, sorted.'),
    missing: z.array(approvalEdge).min(1).describe('Each direction of approval that is absent.'),
    affectedChildren: z.array(id).min(1).describe('The children of `missing`, sorted, without duplicates.'),
    trigger: triggerRef,
    occurredAt: isoDateTime.describe("The triggering event's occurredAt."),
    detectedAt: isoDateTime.describe('When pairguard wrote the alert.'),
    action: alertAction,
    freezeWithheld: z
      .literal('freeze-breaker-open')
      .optional()
      .describe(
        'Present when pairguard, in enforce mode, did not freeze the chat because the freeze breaker is open (too many chats frozen recently); the withheld freeze is listed by `pairguard breaker status` and applied at reset if the violation still stands.',
      ),
  })
  .meta({
    title: 'PairingUnapproved',
    description: 'An unapproved pairing in a chat, on the alerts topic: one per pairing per violation episode.',
  });

export const freezeCommand = z
  .object({
    schemaVersion,
    type: z.literal('chat.freeze'),
    chatId: id.describe('The chat to freeze; the Kafka key.'),
    alertId: z
      .string()
      .regex(/^[0-9a-f]{32}$/)
      .describe('The alert that caused the freeze.'),
    reason: z.literal('unapproved-pairing'),
    requestedAt: isoDateTime.describe('When pairguard requested the freeze.'),
  })
  .meta({
    title: 'ChatFreeze',
    description:
      'A request to the platform to freeze a chat, on the control topic: one per chat until a reviewer unfreezes it.',
  });

export const deadLetter = z
  .object({
    schemaVersion,
    error: z
      .string()
      .min(1)
      .describe('`<reason>: <detail>`; the reason is one of the dead-letter reasons (metric label `reason`).'),
    topic: z.string().min(1).describe('The input topic the record is still on.'),
    partition: partition.describe('Its partition there.'),
    offset: kafkaOffset.describe('Its offset there.'),
    key: z.string().nullable().describe('Its key as UTF-8, or null when it had none.'),
    value: z
      .base64()
      .optional()
      .describe(
        'Present only when the value is a JSON object: base64 of that object holding only fields the contract names for events (never `text`, never an unknown field).',
      ),
    valueBytes: z.int().min(0).describe('Length of the original value in bytes (0 when it had none).'),
    valueSha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .describe('SHA-256 of the original value, hex (of no bytes when it had none).'),
  })
  .meta({
    title: 'DeadLetter',
    description: 'A record pairguard could not judge, on the dead-letter topic; the original stays on its input topic.',
  });

/** Where the event that revealed a violation was read. */
export type TriggerRef = z.infer<typeof triggerRef>;
export type AlertAction = z.infer<typeof alertAction>;
/** Value of a `pairing.unapproved` record on the alerts topic. */
export type AlertRecord = z.infer<typeof alertRecord>;
/** Value of a `chat.freeze` record on the control topic. */
export type FreezeCommand = z.infer<typeof freezeCommand>;
/** Value of a record on the dead-letter topic. */
export type DeadLetter = z.infer<typeof deadLetter>;

/**
 * Same chat, pair and triggering event give the same id, so a consumer can drop the duplicate
 * that an at-least-once restart replays. The trigger is named by its eventId, not its offset, so
 * the same event replayed from a file yields the same id too.
 */
export function alertIdOf(chatId: string, pair: readonly [string, string], eventId: string): string {
  return createHash('sha256')
    .update(`${chatId}\u0000${pair[0]}\u0000${pair[1]}\u0000${eventId}`)
    .digest('hex')
    .slice(0, 32);
}

export function affectedChildren(missing: readonly ApprovalEdge[]): string[] {
  return [...new Set(missing.map((m) => m.childId))].sort();
}
