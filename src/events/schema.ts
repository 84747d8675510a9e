/**
 * The input events of contract §2 as zod schemas. Unknown extra fields are dropped on parse, and
 * a message's `text` is checked for type and then dropped at once, so no later code can hold it.
 */
import { z } from 'zod';

/** Longest id accepted; ids are opaque strings chosen by the platform. */
export const MAX_ID_LENGTH = 256;

const id = z
  .string()
  .min(1, 'must not be empty')
  .max(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`)
  .refine((s) => !s.includes('\u0000'), 'must not contain NUL');

const occurredAt = z.iso.datetime({ offset: true, message: 'must be an ISO-8601 date-time' });

const base = { eventId: id, occurredAt };

export const userRegistered = z.object({
  type: z.literal('user.registered'),
  ...base,
  userId: id,
  role: z.enum(['child', 'adult']),
});

export const contactApproved = z.object({
  type: z.literal('contact.approved'),
  ...base,
  childId: id,
  contactId: id,
  approvedBy: id.optional(),
});

export const contactRevoked = z.object({
  type: z.literal('contact.revoked'),
  ...base,
  childId: id,
  contactId: id,
  revokedBy: id.optional(),
});

export const chatCreated = z.object({
  type: z.literal('chat.created'),
  ...base,
  chatId: id,
  createdBy: id,
  members: z.array(id).min(1, 'must list at least the creator'),
});

export const memberAdded = z.object({
  type: z.literal('member.added'),
  ...base,
  chatId: id,
  userId: id,
  addedBy: id.optional(),
});

export const memberRemoved = z.object({
  type: z.literal('member.removed'),
  ...base,
  chatId: id,
  userId: id,
  removedBy: id.optional(),
});

export const messageSent = z
  .object({
    type: z.literal('message.sent'),
    ...base,
    chatId: id,
    messageId: id,
    senderId: id,
    text: z.string().optional(),
  })
  .transform(({ text: _text, ...withoutText }) => withoutText);

/** Written on the control topic by a reviewer's tool; pairguard's own `chat.freeze` is ignored. */
export const chatUnfrozen = z.object({
  type: z.literal('chat.unfrozen'),
  chatId: id,
  by: id.optional(),
  occurredAt,
});

export type UserRegistered = z.infer<typeof userRegistered>;
export type ContactApproved = z.infer<typeof contactApproved>;
export type ContactRevoked = z.infer<typeof contactRevoked>;
export type ChatCreated = z.infer<typeof chatCreated>;
export type MemberAdded = z.infer<typeof memberAdded>;
export type MemberRemoved = z.infer<typeof memberRemoved>;
export type MessageSent = z.infer<typeof messageSent>;
export type ChatUnfrozen = z.infer<typeof chatUnfrozen>;

export type ApprovalEvent = UserRegistered | ContactApproved | ContactRevoked;
export type MembershipEvent = ChatCreated | MemberAdded | MemberRemoved;
export type InputEvent = ApprovalEvent | MembershipEvent | MessageSent;
export type InputEventType = InputEvent['type'];

/** Which input stream each event type belongs to (contract §2). */
export type Stream = 'approvals' | 'membership' | 'messages';

export const schemasByStream = {
  approvals: { 'user.registered': userRegistered, 'contact.approved': contactApproved, 'contact.revoked': contactRevoked },
  membership: { 'chat.created': chatCreated, 'member.added': memberAdded, 'member.removed': memberRemoved },
  messages: { 'message.sent': messageSent },
} as const;

export const streamOfType: Record<InputEventType, Stream> = {
  'user.registered': 'approvals',
  'contact.approved': 'approvals',
  'contact.revoked': 'approvals',
  'chat.created': 'membership',
  'member.added': 'membership',
  'member.removed': 'membership',
  'message.sent': 'messages',
};
