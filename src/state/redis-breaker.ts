/** The freeze breaker's state in Redis: one script decides, so every instance shares one breaker. */
import { decodeWithheld } from './codec.js';
import type { BreakerState, FreezeBreaker, TakeResult, WithheldFreeze } from './freeze-breaker.js';
import { windowStart } from './freeze-breaker.js';
import { Keys } from './keys.js';
import type { RedisClient } from './redis-client.js';
import { defineScripts } from './scripts.js';

export class RedisFreezeBreaker implements FreezeBreaker {
  private readonly redis: RedisClient;
  private readonly keys: [string, string, string];

  constructor(
    redis: RedisClient,
    prefix: string,
    /** Chats frozen automatically within the window that trip it when one more would pass. */
    private readonly limit: number,
    private readonly windowMs: number,
  ) {
    this.redis = defineScripts(redis);
    const k = new Keys(prefix);
    this.keys = [k.breaker('window'), k.breaker('open'), k.breaker('withheld')];
  }

  async take(chatId: string, alertId: string, now: number): Promise<TakeResult> {
    const r = await this.redis.pgBreakerTake(...this.keys, now, this.windowMs, this.limit, chatId, alertId);
    return r === 1 ? 'granted' : r === -1 ? 'tripped' : 'withheld';
  }

  async reset(): Promise<WithheldFreeze[]> {
    return decodeWithheld(await this.redis.pgBreakerReset(...this.keys));
  }

  async state(now: number): Promise<BreakerState> {
    const [window, open, withheld] = this.keys;
    const [inWindow, openHash, withheldHash] = await Promise.all([
      // Counts a freeze exactly at the window's start, which take() has already let go (a 1 ms edge).
      this.redis.zcount(window, windowStart(now, this.windowMs), '+inf'),
      this.redis.hgetall(open),
      this.redis.hgetall(withheld),
    ]);
    const isOpen = Object.keys(openHash).length > 0;
    return {
      open: isOpen,
      trippedAt: isOpen ? Number(openHash.trippedAt) : null,
      frozenInWindow: inWindow,
      limit: this.limit,
      windowMs: this.windowMs,
      withheld: decodeWithheld(Object.entries(withheldHash).flat()),
    };
  }
}
