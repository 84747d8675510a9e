/**
 * Runs a slot's consumer: hands its batches to the slot's judging queues (judging-queues.ts),
 * follows its group joins, and builds it again when kafkajs gives up on it. The batch path itself
 * is handed in (`prepareBatch`, `judgePrepared`, `markFiltered`), so this file knows kafkajs's
 * consumer lifecycle and nothing of judging.
 */
import type { Admin, EachBatchPayload } from 'kafkajs';
import { watchConsumer } from '../observability/consumer-events.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { undecodableCause } from '../stream/codecs.js';
import type { ConsumerSlot, NewConsumer } from './consumer-slots.js';
import { holdAtUndecodable, releaseHold } from './consumer-slots.js';
import type { Timers } from './timers.js';
import type { JudgedBatch, PreparedBatch } from '../stream/batch-handler.js';
import { JudgingQueues } from './judging-queues.js';

/** Record bytes one partition's judging queue holds before the partition is paused (2 fetches). */
const MAX_QUEUED_BYTES_PER_PARTITION = 1024 * 1024;

/** Batches of different partitions one consumer judges at once. */
const PARTITIONS_IN_FLIGHT = 4;

export interface RunnerDeps {
  admin: Admin;
  logger: Logger;
  metrics: Metrics;
  /** Where the supervisor's delayed restarts are scheduled. */
  timers: Timers;
  newConsumer: NewConsumer;
  /** Whether shutdown has begun: nothing is restarted after it. */
  stopping: () => boolean;
  /** Prepares a fetched batch for judging (stream/batch-handler.ts); null: not to be judged. */
  prepareBatch: (payload: EachBatchPayload) => Promise<PreparedBatch | null>;
  /** Judges a prepared batch from where it stopped (stream/batch-handler.ts). */
  judgePrepared: (prepared: PreparedBatch) => Promise<JudgedBatch>;
  /** Marks the offsets of a fetch that held only transaction markers or aborted records done. */
  markFiltered: (topic: string, partition: number, lastOffset: string) => Promise<void>;
}

/** Runs `fn` until it succeeds or `stop()` says so, backing off from 100 ms to 5 s; rethrows the last error when stopped. */
async function retryUntil(fn: () => Promise<void>, stop: () => boolean): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (stop()) throw err;
      await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** attempt)));
    }
  }
}

export class ConsumerRunner {
  constructor(private readonly deps: RunnerDeps) {}

  /** Connects the slot's consumer, subscribes it and starts it; resolves once kafkajs runs it. */
  readonly run = async (slot: ConsumerSlot): Promise<void> => {
    slot.queues?.reset();
    slot.queues = this.queuesFor(slot);
    this.watch(slot);
    this.markFilteredBatches(slot);
    await slot.consumer.connect();
    await slot.consumer.subscribe({ topics: [...slot.topics], fromBeginning: true });
    // Partitions are judged concurrently: judging is round-trip bound, and safe to interleave
    // (facts are written before they are read; decisions are compare-and-set).
    // Offsets are committed by slot.commits, off the judging path.
    await slot.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: PARTITIONS_IN_FLIGHT,
      eachBatch: (payload) => this.eachBatch(slot, payload),
    });
  };

  /** Group joins set the slot's assignment; a crash kafkajs will not restart goes to the supervisor. */
  private watch(slot: ConsumerSlot): void {
    const { logger, metrics } = this.deps;
    const consumer = slot.consumer;
    watchConsumer(consumer, {
      name: slot.name,
      topics: slot.topics,
      logger,
      metrics,
      onAssigned: (assignment) => {
        // kafkajs fetches from the committed offsets after a join: what was queued comes again.
        slot.queues?.reset();
        slot.assignment = assignment;
        slot.commits.retain(assignment);
        // Joined again: running, unless it is still held at a batch it cannot decode.
        if (!slot.held) slot.down = null;
      },
      // Only the consumer currently in the slot can ask for a restart.
      onStopped: (reason, error) => {
        if (slot.consumer !== consumer) return;
        slot.queues?.reset();
        const undecodable = undecodableCause(error);
        if (undecodable) holdAtUndecodable(slot, undecodable, this.deps);
        this.superviseStopped(slot, reason, slot.restartsWithoutProgress++);
      },
    });
  }

  private async eachBatch(slot: ConsumerSlot, payload: EachBatchPayload): Promise<void> {
    if (slot.held) releaseHold(slot, this.deps);
    slot.restartsWithoutProgress = 0;
    try {
      await (slot.queues ??= this.queuesFor(slot)).accept(payload);
    } catch (err) {
      // kafkajs fetches the batch again from its last resolved offset.
      this.batchFailed(slot, payload.batch.topic, payload.batch.partition, err as Error);
      throw err;
    }
  }

  /** A batch failed, preparing or judging: counted and said once; it is fetched again. */
  private batchFailed(slot: ConsumerSlot, topic: string, partition: number, err: Error): void {
    this.deps.metrics.batchFailures.inc({ topic });
    this.deps.logger.error(
      { consumer: slot.name, topic, partition, err: err.message },
      'batch failed, will be retried',
    );
  }

  /** The slot's judging queues, for the consumer in it now. */
  private queuesFor(slot: ConsumerSlot): JudgingQueues {
    const consumer = slot.consumer;
    return new JudgingQueues({
      prepare: this.deps.prepareBatch,
      judge: this.deps.judgePrepared,
      // A marker may be the partition's last record for a long time: retried until it is marked.
      markFiltered: (topic, partition, lastOffset) =>
        retryUntil(() => this.deps.markFiltered(topic, partition, lastOffset), this.deps.stopping).catch((err: Error) =>
          this.deps.logger.warn(
            { consumer: slot.name, topic, partition, err: err.message },
            'could not mark transaction markers done',
          ),
        ),
      seek: (topic, partition, offset) => consumer.seek({ topic, partition, offset }),
      failed: (topic, partition, err) => this.batchFailed(slot, topic, partition, err),
      stopping: this.deps.stopping,
      busy: (delta) => void (slot.inFlight += delta),
      maxQueuedBytes: MAX_QUEUED_BYTES_PER_PARTITION,
      retryAfterMs: (failures) => Math.min(5_000, 100 * 2 ** (failures - 1)),
    });
  }

  /** kafkajs skips a fetch of only transaction markers without calling eachBatch; its offsets are done all the same. */
  private markFilteredBatches(slot: ConsumerSlot): void {
    const consumer = slot.consumer;
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.batchSize !== 0 || slot.consumer !== consumer) return;
      // Done in its turn, after the records queued before it (a commit past them would lose them).
      (slot.queues ??= this.queuesFor(slot)).acceptFiltered(payload.topic, payload.partition, payload.lastOffset);
    });
  }

  /**
   * kafkajs restarts a consumer only after errors it deems retriable; after any other (say "failed
   * to find group coordinator" while a broker restarts) the consumer stays stopped, and with it
   * every consumer that waits for its topic. A safety monitor must not stall silently: report
   * not-ready, then build the consumer again, with back-off, until it runs or shutdown begins.
   */
  private superviseStopped(slot: ConsumerSlot, reason: string, attempt = 0): void {
    const { logger, stopping } = this.deps;
    if (!slot.held) slot.down = `consumer stopped: ${reason}`;
    if (stopping() || slot.restarting) return;
    slot.restarting = true;
    this.deps.timers.after(Math.min(30_000, 1_000 * 2 ** attempt), () => {
      slot.restarting = false;
      if (stopping()) return;
      void (async () => {
        await slot.consumer.disconnect().catch(() => undefined);
        slot.consumer = this.deps.newConsumer(slot.groupId);
        slot.assignment = null;
        try {
          await this.run(slot);
          // Running again once it rejoins its group (see watch), not when run() resolves:
          // kafkajs resolves it before the join, which can still fail.
          logger.info({ consumer: slot.name, attempt: attempt + 1 }, 'consumer restarted, rejoining its group');
        } catch (err) {
          logger.error(
            { consumer: slot.name, err: (err as Error).message, attempt: attempt + 1 },
            'consumer restart failed, will try again',
          );
          this.superviseStopped(slot, `${slot.name}: ${(err as Error).message}`, attempt + 1);
        }
      })();
    });
  }
}
