/**
 * Redis key names. Each names one user or one chat and carries its id as a hash tag, so every
 * atomic update touches one slot on one server or a Redis Cluster alike. The layout, what is
 * atomic and how the frozen-chats index is repaired: docs/state-layout.md.
 */
import calculateSlot from 'cluster-key-slot';

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
  /** Hash: the user's role history and approval histories, so one script merges each atomically. */
  user(userId: string): string {
    return `${this.prefix}u:{${userId}}`;
  }
  /** Set: chats the user ever joined, a superset (judging rechecks membership); same slot as the user. */
  userChats(userId: string): string {
    return `${this.prefix}u:{${userId}}:chats`;
  }
  /** Hash: member → membership history; shares the chat's slot with its decisions (lua/membership.lua). */
  members(chatId: string): string {
    return `${this.prefix}c:{${chatId}}:m`;
  }
  /** Hash: episodes by pair and the stamp each began at, and the freeze in force, each changed by compare-and-set. */
  episodes(chatId: string): string {
    return `${this.prefix}c:{${chatId}}:e`;
  }
  /** String written before any other key: its absence means the state is gone, not merely new. */
  stateMarker(): string {
    return `${this.prefix}state`;
  }
  /**
   * On a Redis Cluster, the state marker once in each of MARKER_BUCKETS ranges of hash slots, so a
   * master that restarts empty (or a failover that lost writes) takes markers with it and is noticed.
   */
  stateMarkers(): string[] {
    return markerTags().map((tag) => `${this.prefix}state:{${tag}}`);
  }
  /** The freeze breaker's window (zset), open flag (hash) and withheld freezes (hash), in one slot. */
  breaker(part: 'window' | 'open' | 'withheld'): string {
    return `${this.prefix}freeze-breaker:{b}:${part}`;
  }
  /**
   * Hash: partition → next offset whose facts are in Redis, and `t:<partition>` → the latest moment
   * among them: the event-time frontier every judge waits for (stream/frontier.ts).
   */
  applied(topic: string): string {
    return `${this.prefix}applied:{${topic}}`;
  }
  /** Hash: `at` → the latest moment any judge passed the frontier with; a record applied behind it may be late. */
  judged(): string {
    return `${this.prefix}judged`;
  }
  /**
   * Hash: what a rebuild learned from the output topics about a chat (alerts and freezes written,
   * reviewers' unfreezes); same slot as the chat. Kept only until the rebuild has caught up.
   */
  learnedChat(chatId: string): string {
    return `${this.prefix}learned:c:{${chatId}}`;
  }
  /** Set: the chats with a learned hash, so the learned record can be dropped without a SCAN. */
  learnedChats(): string {
    return `${this.prefix}learned:chats`;
  }
  /** Hash: `bound` → until when the learned record serves; present once the record is complete. */
  learning(): string {
    return `${this.prefix}learned`;
  }
  /** Set: chats whose freeze is in force, an index of the chats' freeze fields kept for one SCARD. */
  frozenChats(): string {
    return `${this.prefix}frozen`;
  }
}
