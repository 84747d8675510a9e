/**
 * Redis key design. Every key names one user or one chat and carries that id as a hash tag, so
 * every atomic update touches one slot and the layout can move to Redis Cluster unchanged.
 *
 *   {prefix}u:{userId}          hash  "r" → role history; "a:<contactId>" → approval toggle
 *   {prefix}u:{userId}:chats    set   chats the user ever joined (a superset; judging rechecks)
 *   {prefix}c:{chatId}:m        hash  userId → membership toggle
 *   {prefix}c:{chatId}:e        hash  "<a>\0<b>" → open violation episode; "frozen" → freeze record
 *   {prefix}applied:{topic}     hash  partition → next offset whose effects are in Redis
 *   {prefix}freezes:{window}    int   automatic freezes counted in one budget window (expires)
 *   {prefix}state               str   written before any other key: its absence means the state is
 *                                     gone (a Redis that restarted empty), not merely new
 */
export const ROLE_FIELD = 'r';
export const FROZEN_FIELD = 'frozen';

export function approvalField(contactId: string): string {
  return `a:${contactId}`;
}

export class Keys {
  constructor(readonly prefix: string) {
    if (/[{}]/.test(prefix)) throw new Error(`Redis key prefix must not contain braces: ${prefix}`);
  }
  user(userId: string): string {
    return `${this.prefix}u:{${userId}}`;
  }
  userChats(userId: string): string {
    return `${this.prefix}u:{${userId}}:chats`;
  }
  members(chatId: string): string {
    return `${this.prefix}c:{${chatId}}:m`;
  }
  episodes(chatId: string): string {
    return `${this.prefix}c:{${chatId}}:e`;
  }
  stateMarker(): string {
    return `${this.prefix}state`;
  }
  freezeWindow(windowStart: number): string {
    return `${this.prefix}freezes:{${windowStart}}`;
  }
  applied(topic: string): string {
    return `${this.prefix}applied:{${topic}}`;
  }
}
