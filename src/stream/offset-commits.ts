/**
 * One consumer's offset commits, taken off the judging path.
 *
 * kafkajs commits after every batch by default, and the batch's partition fetches nothing until
 * the group coordinator has written the commit: several milliseconds on a broker whose coordinator
 * batches its writes, longer than judging a small batch, and every record produced meanwhile waits
 * behind it. Committed offsets only bound what a restart replays, and a replay is harmless (state
 * updates are merges, decisions compare-and-set, alert ids deterministic). So a batch only records
 * how far it got (`done`), and the offsets are committed every `intervalMs` and once more when
 * the consumer stops (`flush`). Offsets move only past records whose effects are durable, as
 * before; a crash or a rebalance now replays at most one interval more.
 */
import type { Consumer } from 'kafkajs';
import type { Assignment } from './assignment.js';

export class OffsetCommits {
  /** Next offset to consume, by `topic\0partition`, not committed yet. */
  private readonly pending = new Map<string, { topic: string; partition: number; offset: string }>();
  private committing: Promise<void> | null = null;

  constructor(
    private readonly consumer: () => Consumer,
    private readonly onError: (err: Error) => void,
  ) {}

  /** The records of a partition before `nextOffset` are judged and their outputs written. */
  done(topic: string, partition: number, nextOffset: string): void {
    this.pending.set(`${topic}\u0000${partition}`, { topic, partition, offset: nextOffset });
  }

  /**
   * After a group join: forgets partitions this consumer no longer owns, whose new owner commits
   * them from now on (committing ours could move its offset back).
   */
  retain(assignment: Assignment): void {
    for (const [key, p] of this.pending) if (!assignment[p.topic]?.includes(p.partition)) this.pending.delete(key);
  }

  /** Commits what is pending; one commit at a time. A failed commit is kept for the next. */
  flush(): Promise<void> {
    this.committing ??= this.commit().finally(() => (this.committing = null));
    return this.committing;
  }

  private async commit(): Promise<void> {
    if (this.pending.size === 0) return;
    const offsets = [...this.pending.values()];
    this.pending.clear();
    try {
      await this.consumer().commitOffsets(offsets);
    } catch (err) {
      // Mid-rebalance, or the coordinator moved: keep them unless a later batch went further.
      for (const o of offsets) {
        const key = `${o.topic}\u0000${o.partition}`;
        if (!this.pending.has(key)) this.pending.set(key, o);
      }
      this.onError(err as Error);
    }
  }
}
