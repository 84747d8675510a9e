/** Which topic and key each event type is written with (contract §2). Used by replay and tests. */
import type { TopicRole } from '../config.js';
import { streamOfType } from './schema.js';
import type { InputEventType } from './schema.js';

const KEY_FIELD: Record<InputEventType, string> = {
  'user.registered': 'userId',
  'contact.approved': 'childId',
  'contact.revoked': 'childId',
  'chat.created': 'chatId',
  'member.added': 'chatId',
  'member.removed': 'chatId',
  'message.sent': 'chatId',
};

export type Route = { role: TopicRole; key: string | null };

/** The topic role and key for an event-shaped object, or null when its type is not an input type. */
export function routeOf(event: Record<string, unknown>): Route | null {
  const type = event.type;
  if (typeof type !== 'string' || !Object.hasOwn(streamOfType, type)) return null;
  const t = type as InputEventType;
  const key = event[KEY_FIELD[t]];
  return { role: streamOfType[t], key: typeof key === 'string' ? key : null };
}
