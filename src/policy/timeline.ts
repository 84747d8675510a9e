/**
 * Facts that change over time (an approval, a membership, a role), each remembered by its latest
 * changes so that an event can be judged as of its own `occurredAt` even when the facts around it
 * were consumed out of order. Updates are max-merges, so applying the same change twice, or two
 * changes in either order, gives the same record; only exact timestamp ties fall back to the
 * order in which changes were applied.
 */

/** Millisecond epoch; 0 means "never". */
export type Millis = number;

/** A fact switched on and off, remembered by the latest moment of each. */
export interface Toggle {
  /** Latest moment the fact was switched on (0 = never). */
  on: Millis;
  /** Latest moment the fact was switched off (0 = never). */
  off: Millis;
  /** Which switch was applied last among those at the latest timestamp; decides exact ties. */
  lastOn: boolean;
}

export const NEVER: Toggle = Object.freeze({ on: 0, off: 0, lastOn: false });

/** Whether the fact holds at moment `at` (use Infinity for "now, as far as we know"). */
export function holdsAt(t: Toggle, at: Millis): boolean {
  if (t.on === 0 || t.on > at) return false; // not yet switched on (an earlier "on" is not remembered: fail closed)
  if (t.off === 0 || t.off > at) return true;
  if (t.on !== t.off) return t.on > t.off;
  return t.lastOn;
}

/** Merges one switch into a toggle; the same merge runs atomically in Redis (state/lua/toggle.lua). */
export function applySwitch(t: Toggle, on: boolean, at: Millis): Toggle {
  if (on) {
    if (at < t.on) return t;
    return { on: at, off: t.off, lastOn: at >= t.off ? true : t.lastOn };
  }
  if (at < t.off) return t;
  return { on: t.on, off: at, lastOn: at >= t.on ? false : t.lastOn };
}

export type Role = 'child' | 'adult';

/** A user's role with one step of history, so a late event is judged by the role it had then. */
export interface RoleHistory {
  /** Role set by the latest registration. */
  role: Role | null;
  /** When the latest registration happened (0 = never registered). */
  at: Millis;
  /** Role before the latest registration. */
  prevRole: Role | null;
  /** When that earlier registration happened (0 = none). */
  prevAt: Millis;
}

export const UNREGISTERED: RoleHistory = Object.freeze({ role: null, at: 0, prevRole: null, prevAt: 0 });

/** The role at moment `at`; an unknown role counts as a child (fail closed). */
export function roleAt(r: RoleHistory, at: Millis): Role {
  if (r.role && r.at <= at) return r.role;
  if (r.prevRole && r.prevAt > 0 && r.prevAt <= at) return r.prevRole;
  return 'child';
}

/** Merges one registration; mirrored atomically by state/lua/role.lua. */
export function applyRegistration(r: RoleHistory, role: Role, at: Millis): RoleHistory {
  if (at >= r.at) {
    return at > r.at ? { role, at, prevRole: r.role, prevAt: r.at } : { ...r, role };
  }
  if (at > r.prevAt) return { ...r, prevRole: role, prevAt: at };
  return r;
}
