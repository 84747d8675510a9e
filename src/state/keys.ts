/**
 * Redis key design. Every key names one user or one chat and carries that id as a hash tag, so
 * every atomic update touches one slot and the same layout runs on one server or a Redis Cluster.
 *
 *   {prefix}u:{userId}          hash  "r" → role history; "a:<contactId>" → approval toggle
 *   {prefix}u:{userId}:chats    set   chats the user ever joined (a superset; judging rechecks)
 *   {prefix}c:{chatId}:m        hash  userId → membership toggle
 *   {prefix}c:{chatId}:e        hash  "<a>\0<b>" → open violation episode; "frozen" → freeze record
 *   {prefix}applied:{topic}     hash  partition → next offset whose effects are in Redis
 *   {prefix}freeze-breaker:{b}:window    zset  chats frozen automatically, by when (sliding window)
 *   {prefix}freeze-breaker:{b}:open      hash  present while the breaker is open: trippedAt, frozenInWindow
 *   {prefix}freeze-breaker:{b}:withheld  hash  chatId → "alertId|at" of freezes withheld while open
 *   {prefix}state               str   written before any other key: its absence means the state is
 *                                     gone (a Redis that restarted empty), not merely new
 *   {prefix}state:{s<n>}        str   on a cluster, the same marker in each of 64 slot ranges, so a
 *                                     master that loses its data is noticed (see stateMarkers)
 *   {prefix}frozen              set   chats whose freeze is in force (index for the gauge and reviewers)
 *
 * Atomic (one Lua script or command on one key): each toggle and role merge, opening an episode,
 * recording a freeze (HSETNX of the chat's "frozen" field), every compare-and-set of a decision,
 * the applied-offset marks, the freeze-budget count. One script touches a chat's two keys, which
 * share its tag: a chunk's membership switches for the chat, applied with the chat read as it was
 * (lua/membership.lua). Nothing atomic spans two users or chats.
 *
 * The chat's "frozen" field is the truth about a freeze; the frozen-chats set is an index of it,
 * the one key tagged by neither a user nor a chat. Updating both in one script would cross slots
 * (CROSSSLOT on a cluster), so the store updates the index with idempotent SADD/SREM next to the
 * script, in the order that lets a replay repair it:
 *
 *  - freeze: HSETNX, then SADD. A crash in between leaves a frozen chat out of the index; the
 *    batch is not committed, so its redelivery re-sends the freeze (the "recovered" path), and
 *    marking a freeze as sent SADDs again.
 *  - unfreeze: SREM, then compare-and-delete of the field. A crash in between leaves a frozen chat
 *    out of the index until the redelivered unfreeze deletes the field; if the compare fails the
 *    freeze is still in force and goes back into the index.
 *
 * So without crashes the index trails the field by one round trip, and after one it is right
 * again once the interrupted batch is replayed. The race left is a chat unfrozen within that one
 * round trip of its freeze being recorded or marked sent (before a reviewer could have seen the
 * freeze command): its SADD can land after the SREM, counting one chat too many. The gauge stays one SCARD. Sharding the set into
 * buckets was the alternative: a bucket set can share a slot with the chat only through a tag
 * computed per slot, and the count would then be thousands of SCARDs; frozen chats are few (the
 * freeze budget caps them), so one set is not a hot key worth that.
 */
import calculateSlot from 'cluster-key-slot';

export const ROLE_FIELD = 'r';
export const FROZEN_FIELD = 'frozen';

/** Approval fields of a user's hash are this prefix and the contact's id. */
export const APPROVAL_PREFIX = 'a:';

export function approvalField(contactId: string): string {
  return `${APPROVAL_PREFIX}${contactId}`;
}

/** Ranges of hash slots that each get a state marker on a cluster (see Keys.stateMarkers). */
export const MARKER_BUCKETS = 64;
const SLOTS = 16384;

let tags: string[] | null = null;
/** For each bucket of slots, the first tag `s<n>` whose slot falls in it. */
function markerTags(): string[] {
  if (tags) return tags;
  const found: Array<string | undefined> = new Array(MARKER_BUCKETS);
  for (let n = 0, left = MARKER_BUCKETS; left > 0; n++) {
    const bucket = Math.floor(calculateSlot(`s${n}`) / (SLOTS / MARKER_BUCKETS));
    if (found[bucket] === undefined) {
      found[bucket] = `s${n}`;
      left--;
    }
  }
  tags = found as string[];
  return tags;
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
  /**
   * On a Redis Cluster, the state marker once in each of MARKER_BUCKETS equal ranges of hash
   * slots, so every master holds some of them whatever the slot layout (a master serves far more
   * than 16384 / 64 slots), and they move with their slots when the cluster is resharded: a
   * master that restarts empty, or a failover to a replica that lost writes, takes its markers
   * with it and is noticed like a whole Redis that restarted empty.
   */
  stateMarkers(): string[] {
    return markerTags().map((tag) => `${this.prefix}state:{${tag}}`);
  }
  /** The freeze breaker's three keys, in one slot (see judge/freeze-breaker.ts). */
  breaker(part: 'window' | 'open' | 'withheld'): string {
    return `${this.prefix}freeze-breaker:{b}:${part}`;
  }
  applied(topic: string): string {
    return `${this.prefix}applied:{${topic}}`;
  }
  frozenChats(): string {
    return `${this.prefix}frozen`;
  }
}
