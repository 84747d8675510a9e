/**
 * A k-way merge of ordered streams into one ordered stream. Each Kafka partition is ordered, so
 * merging the partitions of the input topics by `occurredAt` replays history in the order it
 * happened while holding only one record per partition (plus each reader's own bounded buffer).
 */

/** Orders two items; negative when `a` comes first. */
export type Order<T> = (a: T, b: T) => number;

interface Head<T> {
  item: T;
  source: AsyncIterator<T> | Iterator<T>;
  /** Position of the source, the last tie-break, so equal items keep a stable order. */
  index: number;
}

/** A binary min-heap; small and specialised, so the merge stays allocation-light per record. */
class Heap<T> {
  private readonly items: Array<Head<T>> = [];
  constructor(private readonly less: (a: Head<T>, b: Head<T>) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  push(h: Head<T>): void {
    const a = this.items;
    a.push(h);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  pop(): Head<T> | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l]!, a[m]!)) m = l;
        if (r < a.length && this.less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

function iteratorOf<T>(s: AsyncIterable<T> | Iterable<T>): AsyncIterator<T> | Iterator<T> {
  return Symbol.asyncIterator in s ? s[Symbol.asyncIterator]() : (s as Iterable<T>)[Symbol.iterator]();
}

/**
 * Yields the items of every source in `order`, assuming each source is itself in that order.
 * A source that is not (a producer that wrote out of order) still has every item yielded once,
 * just not globally sorted; the consumer can detect that by comparing with the previous item.
 */
export async function* mergeOrdered<T>(
  sources: ReadonlyArray<AsyncIterable<T> | Iterable<T>>,
  order: Order<T>,
): AsyncGenerator<T> {
  const heap = new Heap<T>((a, b) => {
    const c = order(a.item, b.item);
    return c < 0 || (c === 0 && a.index < b.index);
  });
  const iterators = sources.map(iteratorOf);
  try {
    await Promise.all(
      iterators.map(async (source, index) => {
        const r = await source.next();
        if (!r.done) heap.push({ item: r.value, source, index });
      }),
    );
    while (heap.size > 0) {
      const head = heap.pop()!;
      yield head.item;
      const r = await head.source.next();
      if (!r.done) heap.push({ item: r.value, source: head.source, index: head.index });
    }
  } finally {
    // Stopping early (an error, or --until reached) must release every source's resources.
    await Promise.allSettled(iterators.map((it) => it.return?.()));
  }
}
