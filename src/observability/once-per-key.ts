/**
 * Remembers the keys it was shown, up to a cap, least recently shown forgotten first: "log this
 * once per key" with bounded memory, however many keys a producer writes. A forgotten key is
 * logged again, which is the cost of the bound.
 */
export class OncePerKey {
  /** Insertion order of a Map is its recency order: a key shown again is moved to the end. */
  private readonly seen = new Map<string, true>();

  constructor(
    /** Most keys remembered. */
    private readonly capacity: number,
  ) {}

  /** True the first time a key is shown (or the first time since it was forgotten). */
  first(key: string): boolean {
    const known = this.seen.delete(key);
    this.seen.set(key, true);
    if (!known && this.seen.size > this.capacity) this.seen.delete(this.seen.keys().next().value!);
    return !known;
  }

  /** Keys remembered now. */
  get size(): number {
    return this.seen.size;
  }
}
