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
 *   {prefix}frozen              set   chats whose freeze is in force (index for the gauge and reviewers)
 *
 * The frozen-chats set is the one key not tagged by a user or a chat. It changes only inside the
 * freeze and unfreeze scripts, together with the chat's freeze field, so it is exact without
 * scanning; the price is that those two scripts touch two slots. On Redis Cluster they would
 * fail with CROSSSLOT rather than drift: moving there means tagging this set with a bucket of
 * the chat's hash tag, or giving the count up.
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
  frozenChats(): string {
    return `${this.prefix}frozen`;
  }
}
