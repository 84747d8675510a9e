import type { Consumer } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { OffsetCommits } from '../../src/stream/offset-commits.js';

type Offsets = Array<{ topic: string; partition: number; offset: string }>;

/** A consumer whose commits are recorded, and fail while `failing` is set. */
function fakeConsumer() {
  const commits: Offsets[] = [];
  let failing = false;
  let release: (() => void) | null = null;
  const consumer = {
    commitOffsets: async (offsets: Offsets) => {
      if (release === null && fake.hold) await new Promise<void>((r) => (release = r));
      if (failing) throw new Error('The group is rebalancing');
      commits.push(offsets);
    },
  } as unknown as Consumer;
  const fake = {
    consumer,
    commits,
    hold: false,
    fail: (on: boolean) => (failing = on),
    release: () => release?.(),
  };
  return fake;
}

describe('offset commits', () => {
  it('commits the furthest offset judged per partition, and nothing when nothing is new', async () => {
    const c = fakeConsumer();
    const errors: Error[] = [];
    const commits = new OffsetCommits(
      () => c.consumer,
      (e) => errors.push(e),
    );
    commits.done('t', 0, '5');
    commits.done('t', 0, '9');
    commits.done('t', 1, '3');
    await commits.flush();
    expect(c.commits).toEqual([
      [
        { topic: 't', partition: 0, offset: '9' },
        { topic: 't', partition: 1, offset: '3' },
      ],
    ]);
    await commits.flush();
    expect(c.commits).toHaveLength(1);
    expect(errors).toEqual([]);
  });

  it('keeps a failed commit for the next one, unless a later batch went further', async () => {
    const c = fakeConsumer();
    const errors: Error[] = [];
    const commits = new OffsetCommits(
      () => c.consumer,
      (e) => errors.push(e),
    );
    commits.done('t', 0, '5');
    commits.done('t', 1, '7');
    c.hold = true;
    c.fail(true);
    const failed = commits.flush();
    commits.done('t', 1, '8');
    c.release();
    await failed;
    expect(errors.map((e) => e.message)).toEqual(['The group is rebalancing']);
    c.fail(false);
    await commits.flush();
    expect(c.commits).toEqual([
      [
        { topic: 't', partition: 1, offset: '8' },
        { topic: 't', partition: 0, offset: '5' },
      ],
    ]);
  });

  it('forgets partitions that moved to another instance', async () => {
    const c = fakeConsumer();
    const commits = new OffsetCommits(
      () => c.consumer,
      () => undefined,
    );
    commits.done('t', 0, '5');
    commits.done('t', 1, '6');
    commits.done('u', 0, '2');
    commits.retain({ t: [1], u: [] });
    await commits.flush();
    expect(c.commits).toEqual([[{ topic: 't', partition: 1, offset: '6' }]]);
  });

  it('runs one commit at a time: a flush during a commit waits for it', async () => {
    const c = fakeConsumer();
    const commits = new OffsetCommits(
      () => c.consumer,
      () => undefined,
    );
    commits.done('t', 0, '1');
    c.hold = true;
    const first = commits.flush();
    const second = commits.flush();
    expect(second).toBe(first);
    c.release();
    await first;
    expect(c.commits).toHaveLength(1);
  });
});
