/** The freeze breaker in memory, with the Redis script's rules (lua/breaker-take.lua), for unit tests. */
import type { BreakerState, FreezeBreaker, TakeResult, WithheldFreeze } from './freeze-breaker.js';
import { inWindow } from './freeze-breaker.js';

export class MemoryFreezeBreaker implements FreezeBreaker {
  frozen = new Map<string, number>();
  trippedAt: number | null = null;
  withheld = new Map<string, WithheldFreeze>();

  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {}

  async take(chatId: string, alertId: string, now: number): Promise<TakeResult> {
    if (this.trippedAt !== null) {
      if (!this.withheld.has(chatId)) this.withheld.set(chatId, { chatId, alertId, at: now });
      return 'withheld';
    }
    for (const [c, at] of this.frozen) if (!inWindow(at, now, this.windowMs)) this.frozen.delete(c);
    if (this.frozen.has(chatId)) {
      this.frozen.set(chatId, now);
      return 'granted';
    }
    if (this.frozen.size >= this.limit) {
      this.trippedAt = now;
      if (!this.withheld.has(chatId)) this.withheld.set(chatId, { chatId, alertId, at: now });
      return 'tripped';
    }
    this.frozen.set(chatId, now);
    return 'granted';
  }

  async reset(): Promise<WithheldFreeze[]> {
    const out = [...this.withheld.values()];
    this.frozen.clear();
    this.withheld.clear();
    this.trippedAt = null;
    return out;
  }

  async state(now: number): Promise<BreakerState> {
    return {
      open: this.trippedAt !== null,
      trippedAt: this.trippedAt,
      frozenInWindow: [...this.frozen.values()].filter((at) => inWindow(at, now, this.windowMs)).length,
      limit: this.limit,
      windowMs: this.windowMs,
      withheld: [...this.withheld.values()],
    };
  }
}
