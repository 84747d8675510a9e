/**
 * The freeze breaker's port: a cap on automatic freezes shared by every instance, so that a bug in
 * pairguard or upstream (every approval lost, a replay of old traffic) can never freeze the whole
 * platform. It counts the chats frozen in a sliding window; the freeze that would pass the cap
 * trips it, and from then on pairguard only alerts (each alert says the freeze was withheld) until
 * a person resets it. Withheld freezes are kept, so a reviewer can see them, and the reset applies
 * those whose violation still stands. Redis: redis-breaker.ts; memory: memory-breaker.ts.
 */

/** A freeze the breaker did not let through. */
export interface WithheldFreeze {
  /** The chat that was not frozen. */
  chatId: string;
  /** The alert whose freeze was withheld. */
  alertId: string;
  /** When it was withheld (ms). */
  at: number;
}

export interface BreakerState {
  /** Open: no automatic freeze is let through. */
  open: boolean;
  /** When it tripped (ms), while open. */
  trippedAt: number | null;
  /** Chats frozen automatically within the window ending now. */
  frozenInWindow: number;
  /** Chats frozen within the window that trip it when one more would pass. */
  limit: number;
  /** The sliding window (ms). */
  windowMs: number;
  /** The freezes withheld while open, oldest first. */
  withheld: WithheldFreeze[];
}

export type TakeResult =
  /** Freeze it. */
  | 'granted'
  /** The breaker is open: the freeze is withheld (and listed). */
  | 'withheld'
  /** This freeze would have passed the cap: the breaker tripped now, and withheld it. */
  | 'tripped';

/** The breaker's shared state. */
export interface FreezeBreaker {
  /** Asks to freeze `chatId` at `now`; counted only when granted. */
  take(chatId: string, alertId: string, now: number): Promise<TakeResult>;
  /** Closes the breaker, forgets the window, and hands over (and clears) the withheld freezes. */
  reset(now: number): Promise<WithheldFreeze[]>;
  /** Open or closed, the window's count and the withheld freezes, as of `now`. */
  state(now: number): Promise<BreakerState>;
}

/** A breaker that never trips (PAIRGUARD_FREEZE_BUDGET=0). */
export const NO_BREAKER: FreezeBreaker = {
  take: async () => 'granted',
  reset: async () => [],
  state: async () => ({ open: false, trippedAt: null, frozenInWindow: 0, limit: 0, windowMs: 0, withheld: [] }),
};

/**
 * Where the sliding window ending at `now` starts: a chat frozen at or before it has left the
 * window. lua/breaker-take.lua computes the same (`now - window`), as Lua cannot call this.
 */
export function windowStart(now: number, windowMs: number): number {
  return now - windowMs;
}

/** Whether a freeze at `at` still counts in the window ending at `now`. */
export function inWindow(at: number, now: number, windowMs: number): boolean {
  return at > windowStart(now, windowMs);
}
