/**
 * The input events of contract §2 as zod schemas. Unknown extra fields are dropped on parse, and
 * a message's `text` is checked for type and then dropped at once, so no later code can hold it.
 * The titles and descriptions end up in the published JSON Schemas (src/schemas/).
 */
import { z } from 'zod';

/** Longest id accepted; ids are opaque strings chosen by the platform. */
export const MAX_ID_LENGTH = 256;

/** An opaque id chosen by the platform. A regex, not a refinement, so JSON Schema can state it. */
export const id = z
  .string()
  .min(1, 'must not be empty')
  .max(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`)
  // eslint-disable-next-line no-control-regex -- NUL is the character refused
  .regex(/^[^\u0000]*$/, 'must not contain NUL');

/** An ISO-8601 date-time with `Z` or an offset. */
export const isoDateTime = z.iso.datetime({ offset: true, message: 'must be an ISO-8601 date-time' });

const base = {
  eventId: id.describe('Unique id of this event.'),
  occurredAt: isoDateTime.describe(
    'When it happened on the platform (ISO-8601); pairguard judges the event as of this moment.',
  ),
};

export const userRegistered = z
  .object({
    type: z.literal('user.registered'),
    ...base,
    userId: id.describe('The user registered; the Kafka key.'),
    role: z.enum(['child', 'adult']).describe('A user whose role is unknown is treated as a child.'),
  })
  .meta({ title: 'UserRegistered', description: 'A user and their role, on the approvals topic.' });

export const contactApproved = z
  .object({
    type: z.literal('contact.approved'),
    ...base,
    childId: id.describe('The child whose guardian approved; the Kafka key.'),
    contactId: id.describe('The contact approved for that child (one direction only).'),
    approvedBy: id.optional().describe('Who approved (the guardian).'),
  })
  .meta({
    title: 'ContactApproved',
    description: 'A guardian approved a contact for their child, on the approvals topic.',
  });

export const contactRevoked = z
  .object({
    type: z.literal('contact.revoked'),
    ...base,
    childId: id.describe('The child whose approval is withdrawn; the Kafka key.'),
    contactId: id.describe('The contact no longer approved for that child.'),
    revokedBy: id.optional().describe('Who revoked it.'),
  })
  .meta({ title: 'ContactRevoked', description: 'A guardian withdrew an approval, on the approvals topic.' });

export const chatCreated = z
  .object({
    type: z.literal('chat.created'),
    ...base,
    chatId: id.describe('The new chat; the Kafka key.'),
    createdBy: id.describe('Who created it.'),
    members: z.array(id).min(1, 'must list at least the creator').describe('Every member, the creator included.'),
  })
  .meta({ title: 'ChatCreated', description: 'A chat and its first members, on the membership topic.' });

export const memberAdded = z
  .object({
    type: z.literal('member.added'),
    ...base,
    chatId: id.describe('The chat; the Kafka key.'),
    userId: id.describe('The member who joined.'),
    addedBy: id.optional().describe('Who added them.'),
  })
  .meta({ title: 'MemberAdded', description: 'A user joined a chat, on the membership topic.' });

export const memberRemoved = z
  .object({
    type: z.literal('member.removed'),
    ...base,
    chatId: id.describe('The chat; the Kafka key.'),
    userId: id.describe('The member who left.'),
    removedBy: id.optional().describe('Who removed them.'),
  })
  .meta({ title: 'MemberRemoved', description: 'A user left a chat, on the membership topic.' });

/** `message.sent` as written, before its text is dropped. */
export const messageSentInput = z
  .object({
    type: z.literal('message.sent'),
    ...base,
    chatId: id.describe('The chat; the Kafka key.'),
    messageId: id.describe('The message.'),
    senderId: id.describe('Who sent it; a sender who is not a known member is judged as joining at that moment.'),
    text: z
      .string()
      .optional()
      .describe("The child's message: checked to be a string, then dropped; it never leaves pairguard."),
  })
  .meta({ title: 'MessageSent', description: 'A message in a chat, on the messages topic.' });

export const messageSent = messageSentInput.transform(({ text: _text, ...withoutText }) => withoutText);

/** Written on the control topic by a reviewer's tool; pairguard's own `chat.freeze` is ignored. */
export const chatUnfrozen = z
  .object({
    type: z.literal('chat.unfrozen'),
    chatId: id.describe('The chat a reviewer cleared; the Kafka key.'),
    by: id.optional().describe('The reviewer.'),
    occurredAt: isoDateTime.describe(
      'When the reviewer cleared it; a violation after this moment freezes the chat again.',
    ),
  })
  .meta({ title: 'ChatUnfrozen', description: "A human reviewer's tool lifted a freeze, on the control topic." });

/**
 * Written on the control topic by `pairguard breaker reset`: a person closes the freeze breaker
 * (state/freeze-breaker.ts) after finding why it tripped. Key: `freeze-breaker`.
 */
export const freezeBreakerReset = z
  .object({
    type: z.literal('freeze-breaker.reset'),
    by: id.describe('The person who reset the breaker.'),
    occurredAt: isoDateTime.describe('When they reset it.'),
  })
  .meta({
    title: 'FreezeBreakerReset',
    description:
      'A person closed the freeze breaker, on the control topic: automatic freezes resume, and the withheld ones whose violation still stands are applied.',
  });

/** The records on the control topic that pairguard acts on. */
export type ControlEvent = z.infer<typeof chatUnfrozen> | z.infer<typeof freezeBreakerReset>;

export type UserRegistered = z.infer<typeof userRegistered>;
export type ContactApproved = z.infer<typeof contactApproved>;
export type ContactRevoked = z.infer<typeof contactRevoked>;
export type ChatCreated = z.infer<typeof chatCreated>;
export type MemberAdded = z.infer<typeof memberAdded>;
export type MemberRemoved = z.infer<typeof memberRemoved>;
export type MessageSent = z.infer<typeof messageSent>;
export type ChatUnfrozen = z.infer<typeof chatUnfrozen>;
export type FreezeBreakerReset = z.infer<typeof freezeBreakerReset>;

export type ApprovalEvent = UserRegistered | ContactApproved | ContactRevoked;
export type MembershipEvent = ChatCreated | MemberAdded | MemberRemoved;
export type InputEvent = ApprovalEvent | MembershipEvent | MessageSent;
export type InputEventType = InputEvent['type'];

/** Which input stream each event type belongs to (contract §2). */
export type Stream = 'approvals' | 'membership' | 'messages';

export const schemasByStream = {
  approvals: {
    'user.registered': userRegistered,
    'contact.approved': contactApproved,
    'contact.revoked': contactRevoked,
  },
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

/** The input event types, in contract order. */
export const INPUT_EVENT_TYPES = Object.keys(streamOfType) as InputEventType[];

/**
 * Every field the contract names for an event, on any topic, except `text`: what a dead letter
 * may carry of the original value.
 */
export const EVENT_FIELDS: ReadonlySet<string> = new Set(
  [
    userRegistered,
    contactApproved,
    contactRevoked,
    chatCreated,
    memberAdded,
    memberRemoved,
    messageSentInput,
    chatUnfrozen,
  ]
    .flatMap((s) => Object.keys(s.shape))
    .filter((f) => f !== 'text'),
);
