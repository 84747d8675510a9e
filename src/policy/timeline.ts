/**
 * Facts that change over time (an approval, a membership, a role), each remembered by every
 * switch it ever had, so that "did it hold at moment T" has an exact answer whatever was applied
 * since and in whatever order: an approval revoked and given again, or a member who left and
 * rejoined, is judged as it stood at T. Merging a switch is a set insertion keyed by its stamp,
 * so applying the same switch twice, or switches in any order, gives the same history.
 *
 * Moments are stamps: the millisecond, then the record's place (topic rank, partition, offset) to
 * order records of the same millisecond. That is the order `pairguard audit` replays history in
 * (history/history-record.ts, historyOrder), so the live judge and the audit agree on ties too.
 */

/** Millisecond epoch; 0 means "never". */
export type Millis = number;

/** A record's place in event time: millisecond, topic rank (approvals 0, membership 1, messages 2, control 3), partition, offset. */
export type Stamp = readonly [at: Millis, rank: number, partition: number, offset: number];

/** A moment: a stamp, or a plain millisecond (the stamp `[ms, 0, 0, 0]`). `Infinity` is "now, as far as we know". */
export type Moment = Stamp | Millis;

/** The stamp of a moment. */
export function stampOf(m: Moment): Stamp {
  return typeof m === 'number' ? [m, 0, 0, 0] : m;
}

/** Orders two moments: negative when `a` comes first. */
export function compareMoments(a: Moment, b: Moment): number {
  const x = stampOf(a);
  const y = stampOf(b);
  return cmp(x[0], y[0]) || cmp(x[1], y[1]) || cmp(x[2], y[2]) || cmp(x[3], y[3]);
}

function cmp(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** One switch of a fact: on or off, at a stamp. */
export interface Switch {
  stamp: Stamp;
  on: boolean;
}

/** Every switch of a fact, in stamp order (one per stamp). Empty: never switched. */
export type FactHistory = readonly Switch[];

export const NEVER: FactHistory = Object.freeze([]) as FactHistory;

/** Index of the last entry at or before `m` (`strict`: before), or -1. Histories are short: a linear scan from the end. */
function lastIndexAt<T extends { stamp: Stamp }>(h: readonly T[], m: Moment, strict: boolean): number {
  for (let i = h.length - 1; i >= 0; i--) {
    const c = compareMoments(h[i]!.stamp, m);
    if (strict ? c < 0 : c <= 0) return i;
  }
  return -1;
}

/** Whether the fact holds at moment `m`, its own switch at `m` included (use Infinity for "now, as far as we know"). */
export function holdsAt(h: FactHistory, m: Moment): boolean {
  const i = lastIndexAt(h, m, false);
  return i >= 0 && h[i]!.on;
}

/** Whether the fact held just before moment `m`: every switch earlier than `m`, none at it. */
export function holdsBefore(h: FactHistory, m: Moment): boolean {
  const i = lastIndexAt(h, m, true);
  return i >= 0 && h[i]!.on;
}

/**
 * Merges one switch into a history; the same merge runs atomically in Redis
 * (state/lua/includes/history-merge.lua). Returns `h` itself when nothing changed.
 */
export function applySwitch(h: FactHistory, on: boolean, m: Moment): FactHistory {
  return insertByStamp(h, { stamp: stampOf(m), on }, (a, b) => a.on === b.on);
}

function insertByStamp<T extends { stamp: Stamp }>(
  h: readonly T[],
  entry: T,
  same: (a: T, b: T) => boolean,
): readonly T[] {
  let i = h.length;
  while (i > 0 && compareMoments(h[i - 1]!.stamp, entry.stamp) > 0) i--;
  const prev = h[i - 1];
  if (prev && compareMoments(prev.stamp, entry.stamp) === 0) {
    // The same stamp is the same record, applied again: the later application stands.
    if (same(prev, entry)) return h;
    return [...h.slice(0, i - 1), entry, ...h.slice(i)];
  }
  return [...h.slice(0, i), entry, ...h.slice(i)];
}

export type Role = 'child' | 'adult';

/** One registration of a user. */
export interface Registration {
  stamp: Stamp;
  role: Role;
}

/** Every registration of a user, in stamp order, so an event is judged by the role the user had then. */
export type RoleHistory = readonly Registration[];

export const UNREGISTERED: RoleHistory = Object.freeze([]) as RoleHistory;

/** The role at moment `m` (its own registration included); an unknown role counts as a child (fail closed). */
export function roleAt(r: RoleHistory, m: Moment): Role {
  const i = lastIndexAt(r, m, false);
  return i >= 0 ? r[i]!.role : 'child';
}

/** The role just before moment `m`. */
export function roleBefore(r: RoleHistory, m: Moment): Role {
  const i = lastIndexAt(r, m, true);
  return i >= 0 ? r[i]!.role : 'child';
}

/** Merges one registration; mirrored atomically by state/lua/role.lua. Returns `r` itself when nothing changed. */
export function applyRegistration(r: RoleHistory, role: Role, m: Moment): RoleHistory {
  return insertByStamp(r, { stamp: stampOf(m), role }, (a, b) => a.role === b.role);
}
