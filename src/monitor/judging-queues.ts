/**
 * Fetching decoupled from judging, as Kafka Streams and Flink buffer records per input partition
 * and process them as their time comes. A consumer's fetched batch is prepared where kafkajs hands
 * it over (approvals and membership apply their facts ahead: stream/batch/apply-batch.ts),
 * resolved so that kafkajs fetches the partition on, and queued; each partition's queue is judged
 * in order, off the fetch loop, as far as the event-time frontier lets it (stream/frontier.ts).
 *
 * Why: kafkajs fetches a consumer's partitions together and fetches again only once every batch
 * of the round is done. Judged inside the round, a record waiting for a partition of its own
 * consumer (a membership record waiting for the next records of another membership partition)
 * could only give up and be fetched again, and at live rates that was most waits: detection
 * latency in the hundreds of milliseconds. Queued, the other partition is fetched and applied
 * meanwhile and the wait ends as soon as its facts are in.
 *
 * What stays true:
 * - Offsets are committed only once judged (slot.commits, via the batch's flush): resolving moves
 *   the fetch position, not the commit, so a crash replays every queued record.
 * - A partition's records are judged in offset order. Batches queued behind the one being judged
 *   are appended to one another and judged as one (stream/batch-handler.ts appendPrepared).
 * - A group join (kafkajs then fetches from the committed offsets again) or a consumer stop drops
 *   every queue: the records are fetched again, and their facts merge again to the same state.
 * - Memory is bounded: a partition whose queue holds more than `maxQueuedBytes` is paused until
 *   it holds no more than the batch being judged.
 * - A batch that fails while judged is counted, the partition's queue dropped, and the partition
 *   fetched again from its first record not judged, after a back-off.
 */
import type { EachBatchPayload } from 'kafkajs';
import type { JudgedBatch, PreparedBatch } from '../stream/batch-handler.js';
import { appendPrepared, ownBatch } from '../stream/batch-handler.js';

export interface JudgingQueueDeps {
  /** Prepares a fetched batch (stream/batch-handler.ts prepareBatch); null: not to be judged (state lost). */
  prepare: (payload: EachBatchPayload) => Promise<PreparedBatch | null>;
  /** Judges a prepared batch from where it stopped (stream/batch-handler.ts judgePrepared). */
  judge: (prepared: PreparedBatch) => Promise<JudgedBatch>;
  /** Marks the offsets of a fetch that held only transaction markers or aborted records done. */
  markFiltered: (topic: string, partition: number, lastOffset: string) => Promise<void>;
  /** Moves the consumer's fetch position of a partition (kafkajs consumer.seek). */
  seek: (topic: string, partition: number, offset: string) => void;
  /** A batch failed while judged: counted and said (its partition is fetched again). */
  failed: (topic: string, partition: number, err: Error) => void;
  /** Whether shutdown has begun: nothing more is judged. */
  stopping: () => boolean;
  /** Called with +1 when a batch starts being prepared or judged, -1 when it ends (slot.inFlight). */
  busy: (delta: 1 | -1) => void;
  /** Bytes of record values a partition's queue may hold before the partition is paused. */
  maxQueuedBytes: number;
  /** Back-off before a failed partition is fetched again. */
  retryAfterMs: (failures: number) => number;
}

type Item =
  | { kind: 'batch'; prepared: PreparedBatch; bytes: number; pause: () => () => void }
  | { kind: 'filtered'; lastOffset: string };

interface PartitionQueue {
  topic: string;
  partition: number;
  items: Item[];
  bytes: number;
  draining: boolean;
  /** Resumes the partition, while it is paused for a full queue. */
  resume: (() => void) | null;
  /** Bumped when the queue is dropped: a batch prepared before is not queued after. */
  epoch: number;
  failures: number;
}

export class JudgingQueues {
  private generation = 0;
  private readonly queues = new Map<string, PartitionQueue>();

  constructor(private readonly deps: JudgingQueueDeps) {}

  /** A fetched batch, from kafkajs's eachBatch: prepared, resolved, queued, and judged in turn. */
  async accept(payload: EachBatchPayload): Promise<void> {
    const { topic, partition, messages } = payload.batch;
    if (messages.length === 0) return;
    const q = this.queue(topic, partition);
    const generation = this.generation;
    const epoch = q.epoch;
    this.deps.busy(1);
    let prepared: PreparedBatch | null;
    try {
      prepared = await this.deps.prepare(payload);
    } finally {
      this.deps.busy(-1);
    }
    // Left unresolved when dropped meanwhile: fetched again from the committed offset or the seek.
    if (prepared === null || !this.current(q, generation, epoch) || payload.isStale() || !payload.isRunning()) return;
    const bytes = messages.reduce((n, m) => n + (m.value?.length ?? 0), 0);
    // Behind a batch that waits its turn, it joins that batch: one wait at the frontier for both,
    // rather than one per fetch, of which a live partition makes hundreds a second.
    const tail = q.items.length > 1 ? q.items[q.items.length - 1]! : null;
    if (tail?.kind === 'batch') {
      appendPrepared(tail.prepared, prepared);
      tail.bytes += bytes;
    } else {
      const own = { ...this.detached(payload, q, generation, epoch), batch: ownBatch(payload.batch) };
      q.items.push({ kind: 'batch', prepared: { ...prepared, payload: own }, bytes, pause: payload.pause });
    }
    q.bytes += bytes;
    // Resolving the last record resolves the transaction markers after it too (kafkajs runner).
    payload.resolveOffset(messages[messages.length - 1]!.offset);
    if (q.bytes > this.deps.maxQueuedBytes && !q.resume) q.resume = payload.pause();
    void this.drain(q, generation);
  }

  /** A fetch of only transaction markers or aborted records: done in its turn, after the records before it. */
  acceptFiltered(topic: string, partition: number, lastOffset: string): void {
    const q = this.queue(topic, partition);
    q.items.push({ kind: 'filtered', lastOffset });
    void this.drain(q, this.generation);
  }

  /** Drops every queue (a group join, a consumer stopped): kafkajs fetches their records again. */
  reset(): void {
    this.generation++;
    for (const q of this.queues.values()) this.drop(q);
    this.queues.clear();
  }

  /** Records queued and not judged yet, over every partition (tests, shutdown logs). */
  queued(): number {
    let n = 0;
    for (const q of this.queues.values())
      for (const item of q.items) if (item.kind === 'batch') n += item.prepared.payload.batch.messages.length;
    return n;
  }

  private queue(topic: string, partition: number): PartitionQueue {
    const key = `${topic}\u0000${partition}`;
    let q = this.queues.get(key);
    if (!q) {
      q = { topic, partition, items: [], bytes: 0, draining: false, resume: null, epoch: 0, failures: 0 };
      this.queues.set(key, q);
    }
    return q;
  }

  private current(q: PartitionQueue, generation: number, epoch: number): boolean {
    return (
      generation === this.generation && epoch === q.epoch && this.queues.get(`${q.topic}\u0000${q.partition}`) === q
    );
  }

  /**
   * The payload judging sees once the batch has left kafkajs's hands: its offsets are resolved
   * already, kafkajs heartbeats in its own fetch loop, and it is stale once its queue is dropped.
   */
  private detached(payload: EachBatchPayload, q: PartitionQueue, generation: number, epoch: number): EachBatchPayload {
    return {
      ...payload,
      resolveOffset: () => undefined,
      heartbeat: async () => undefined,
      isRunning: () => payload.isRunning() && !this.deps.stopping(),
      isStale: () => payload.isStale() || !this.current(q, generation, epoch),
    };
  }

  private async drain(q: PartitionQueue, generation: number): Promise<void> {
    if (q.draining) return;
    q.draining = true;
    const epoch = q.epoch;
    try {
      while (q.items.length > 0 && this.current(q, generation, epoch) && !this.deps.stopping()) {
        const item = q.items[0]!;
        this.deps.busy(1);
        let outcome: JudgedBatch | 'failed';
        try {
          outcome = await this.judge(q, item);
        } finally {
          this.deps.busy(-1);
        }
        if (outcome === 'yielded') continue;
        if (outcome === 'failed' || outcome === 'stopped' || !this.current(q, generation, epoch)) return;
        q.items.shift();
        q.failures = 0;
        if (item.kind === 'batch') q.bytes -= item.bytes;
        // Resumed once nothing but the batch in hand is left: the next fetch refills the queue.
        if (q.resume && q.items.length <= 1) this.resumeQuietly(q);
      }
    } finally {
      q.draining = false;
    }
  }

  private async judge(q: PartitionQueue, item: Item): Promise<JudgedBatch | 'failed'> {
    try {
      if (item.kind === 'filtered') {
        await this.deps.markFiltered(q.topic, q.partition, item.lastOffset);
        return 'done';
      }
      return await this.deps.judge(item.prepared);
    } catch (err) {
      this.deps.failed(q.topic, q.partition, err as Error);
      this.refetch(q, item);
      return 'failed';
    }
  }

  /**
   * The partition fetched again from the failed item's first record not judged, after a back-off:
   * paused, its queue dropped, the fetch position moved there, resumed later.
   */
  private refetch(q: PartitionQueue, failed: Item): void {
    const failures = ++q.failures;
    const offset =
      failed.kind === 'batch'
        ? (failed.prepared.payload.batch.messages[failed.prepared.from]?.offset ??
          String(BigInt(failed.prepared.payload.batch.lastOffset()) + 1n))
        : failed.lastOffset;
    const pause = failed.kind === 'batch' ? failed.pause : null;
    const resume = q.resume ?? pause?.() ?? null;
    q.resume = null;
    this.drop(q, false);
    this.queues.delete(`${q.topic}\u0000${q.partition}`);
    try {
      this.deps.seek(q.topic, q.partition, offset);
    } catch {
      // Not assigned any more (a rebalance): the new owner fetches from the committed offset.
    }
    setTimeout(() => {
      try {
        resume?.();
      } catch {
        // The consumer is gone: its successor fetches from the committed offset.
      }
    }, this.deps.retryAfterMs(failures)).unref();
    // Failures in a row are remembered across the fresh queue the next fetch makes.
    this.queue(q.topic, q.partition).failures = failures;
  }

  private drop(q: PartitionQueue, resume = true): void {
    q.epoch++;
    q.items = [];
    q.bytes = 0;
    if (resume) this.resumeQuietly(q);
    q.resume = null;
  }

  private resumeQuietly(q: PartitionQueue): void {
    const resume = q.resume;
    q.resume = null;
    try {
      resume?.();
    } catch {
      // The consumer is gone: its successor fetches from the committed offset.
    }
  }
}
