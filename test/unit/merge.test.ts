import { describe, expect, it } from 'vitest';
import { mergeOrdered } from '../../src/history/merge.js';

const collect = async <T>(it: AsyncIterable<T>) => {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
};

describe('merging ordered streams', () => {
  it('yields every item in order, ties in source order, from sync and async sources', async () => {
    async function* slow(items: number[]) {
      for (const i of items) {
        await new Promise((r) => setTimeout(r, 1));
        yield i;
      }
    }
    const merged = await collect(
      mergeOrdered<[number, string]>(
        [
          [
            [1, 'a'],
            [4, 'a'],
            [4, 'a2'],
            [9, 'a'],
          ],
          (async function* () {
            for await (const n of slow([1, 2, 4, 10])) yield [n, 'b'] as [number, string];
          })(),
          [],
        ],
        (x, y) => x[0] - y[0],
      ),
    );
    expect(merged).toEqual([
      [1, 'a'],
      [1, 'b'],
      [2, 'b'],
      [4, 'a'],
      [4, 'a2'],
      [4, 'b'],
      [9, 'a'],
      [10, 'b'],
    ]);
  });

  it('releases every source when the reader stops early', async () => {
    const closed: string[] = [];
    function* src(name: string) {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        closed.push(name);
      }
    }
    for await (const x of mergeOrdered([src('a'), src('b')], (x, y) => x - y)) if (x >= 3) break;
    expect(closed.sort()).toEqual(['a', 'b']);
  });
});
