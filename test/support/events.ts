/**
 * Input events for unit tests, built as the platform writes them: `s` is seconds after T0, the
 * event's occurredAt; every event gets a fresh eventId.
 */
import type { MembershipEvent } from '../../src/events/schema.js';

export const T0 = Date.parse('2026-11-21T10:00:00.000Z');
export const iso = (s: number) => new Date(T0 + s * 1000).toISOString();
let seq = 0;
const eventId = () => `e${++seq}`;

export const reg = (userId: string, role: 'child' | 'adult', s = 0) =>
  ({ type: 'user.registered', eventId: eventId(), occurredAt: iso(s), userId, role }) as const;
export const approve = (childId: string, contactId: string, s = 0) =>
  ({ type: 'contact.approved', eventId: eventId(), occurredAt: iso(s), childId, contactId }) as const;
export const revoke = (childId: string, contactId: string, s = 0) =>
  ({ type: 'contact.revoked', eventId: eventId(), occurredAt: iso(s), childId, contactId }) as const;
/** Both directions approved. */
export const friends = (a: string, b: string, s = 0) => [approve(a, b, s), approve(b, a, s)];
export const created = (chatId: string, members: string[], s = 0) =>
  ({
    type: 'chat.created',
    eventId: eventId(),
    occurredAt: iso(s),
    chatId,
    createdBy: members[0]!,
    members,
  }) as const satisfies MembershipEvent;
export const added = (chatId: string, userId: string, s = 0) =>
  ({ type: 'member.added', eventId: eventId(), occurredAt: iso(s), chatId, userId }) as const satisfies MembershipEvent;
export const removed = (chatId: string, userId: string, s = 0) =>
  ({
    type: 'member.removed',
    eventId: eventId(),
    occurredAt: iso(s),
    chatId,
    userId,
  }) as const satisfies MembershipEvent;
export const message = (chatId: string, senderId: string, s = 0) => {
  const id = eventId();
  return {
    type: 'message.sent',
    eventId: id,
    occurredAt: iso(s),
    chatId,
    messageId: `m${id.slice(1)}`,
    senderId,
  } as const;
};
