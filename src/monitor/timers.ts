/**
 * The monitor's timers: its periodic loops and the supervisor's delayed restarts, all cleared in
 * one place at shutdown.
 */

/** `p`, or a rejection after `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export class Timers {
  private readonly pending = new Set<NodeJS.Timeout>();

  /** `stopping` says shutdown has begun: no loop is scheduled again after it. */
  constructor(private readonly stopping: () => boolean) {}

  /** Runs `fn` now and then every `intervalMs` after it settles, until shutdown. */
  repeat(intervalMs: number, fn: () => Promise<unknown>): void {
    const loop = () => {
      if (this.stopping()) return;
      this.after(intervalMs, () => void fn().finally(loop));
    };
    void fn().finally(loop);
  }

  /** Runs `fn` once after `ms`, unless shutdown clears it first. */
  after(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.pending.delete(timer);
      fn();
    }, ms);
    this.pending.add(timer);
  }

  /** Clears every timer not yet fired. */
  clear(): void {
    for (const timer of this.pending) clearTimeout(timer);
  }
}
