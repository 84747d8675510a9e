/**
 * Runs a slot's consumer: judges its batches, follows its group joins, and builds it again when
 * kafkajs gives up on it. The batch path itself is handed in (`judgeBatch`, `markFiltered`), so
 * this file knows kafkajs's consumer lifecycle and nothing of judging.
 */
import type { Admin, EachBatchPayload } from 'kafkajs';
import { watchConsumer } from '../observability/consumer-events.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { undecodableCause } from '../stream/codecs.js';
import type { ConsumerSlot, NewConsumer } from './consumer-slots.js';
import { holdAtUndecodable, releaseHold } from './consumer-slots.js';
import type { Timers } from './timers.js';

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
  /** Judges one fetched batch (stream/batch-handler.ts). */
  judgeBatch: (payload: EachBatchPayload) => Promise<void>;
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
        slot.assignment = assignment;
        slot.commits.retain(assignment);
        // Joined again: running, unless it is still held at a batch it cannot decode.
        if (!slot.held) slot.down = null;
      },
      // Only the consumer currently in the slot can ask for a restart.
      onStopped: (reason, error) => {
        if (slot.consumer !== consumer) return;
        const undecodable = undecodableCause(error);
        if (undecodable) holdAtUndecodable(slot, undecodable, this.deps);
        this.superviseStopped(slot, reason, slot.restartsWithoutProgress++);
      },
    });
  }

  private async eachBatch(slot: ConsumerSlot, payload: EachBatchPayload): Promise<void> {
    const { logger, metrics } = this.deps;
    if (slot.held) releaseHold(slot, this.deps);
    slot.restartsWithoutProgress = 0;
    slot.inFlight++;
    try {
      await this.deps.judgeBatch(payload);
    } catch (err) {
      // kafkajs fetches the batch again from the last committed offset; count and say so once.
      metrics.batchFailures.inc({ topic: payload.batch.topic });
      logger.error(
        {
          consumer: slot.name,
          topic: payload.batch.topic,
          partition: payload.batch.partition,
          err: (err as Error).message,
        },
        'batch failed, will be retried',
      );
      throw err;
    } finally {
      slot.inFlight--;
    }
  }

  /** kafkajs skips a fetch of only transaction markers without calling eachBatch; its offsets are done all the same. */
  private markFilteredBatches(slot: ConsumerSlot): void {
    const consumer = slot.consumer;
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.batchSize !== 0) return;
      // A marker may be the partition's last record for a long time: retried until it is marked.
      void retryUntil(
        () => this.deps.markFiltered(payload.topic, payload.partition, payload.lastOffset),
        this.deps.stopping,
      ).catch((err: Error) =>
        this.deps.logger.warn(
          { consumer: slot.name, topic: payload.topic, partition: payload.partition, err: err.message },
          'could not mark transaction markers done',
        ),
      );
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
