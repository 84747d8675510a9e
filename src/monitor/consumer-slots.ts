/**
 * The monitor's consumers, one slot per consumer group (stream/consumer-groups.ts): the kafkajs
 * consumer in it (replaced on each restart), the partitions it owns, what it has judged and not
 * committed, and why it is not judging, which readiness reports.
 */
import type { Admin, Consumer, Kafka } from 'kafkajs';
import type { Assignment } from '../stream/assignment.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { ConsumerGroup, ConsumerName } from '../stream/consumer-groups.js';
import { topicsWithUncommitted } from '../stream/consumer-groups.js';
import { OffsetCommits } from '../stream/offset-commits.js';
import type { JudgingQueues } from './judging-queues.js';

/** One of the monitor's consumers: its name, group and topics. */
export interface ConsumerSlot {
  /** Metric label and log field. */
  name: ConsumerName;
  /** Consumer group id. */
  groupId: string;
  /** Topics it subscribes to. */
  topics: readonly string[];
  /** Topics whose records must be applied before it judges (the ordering barrier). */
  waitsFor: readonly string[];
  /** The kafkajs consumer. */
  consumer: Consumer;
  /** Partitions this process owns, from the last group join (null before the first). */
  assignment: Assignment | null;
  /** A restart of this consumer is scheduled (see consumer-runner.ts). */
  restarting: boolean;
  /** Offsets judged and not committed yet (see stream/offset-commits.ts). */
  commits: OffsetCommits;
  /** Batches being prepared or judged right now. */
  inFlight: number;
  /** The consumer's judging queues, fetched batches waiting their turn (judging-queues.ts); made by its first run. */
  queues: JudgingQueues | null;
  /** Why this consumer is not judging (stopped by kafkajs, or held at an undecodable batch), or null. */
  down: string | null;
  /** Set while the consumer holds at a record batch it cannot decode; cleared by its next batch. */
  held: { codec: string; reason: string } | null;
  /** Restarts since this consumer last judged a batch: the back-off of the next one grows with them. */
  restartsWithoutProgress: number;
}

// Short fetch waits: an alert must land before a stranger's next message, not after a poll
// interval. A 10 s session: a crashed instance's partitions move to a live one within seconds.
// Fetches are capped so the records held in memory stay small whatever the backlog (3
// consumers × 4 MiB); a backlog is still read in batches of thousands of records, which is
// what lets a batch's round trips to Redis serve many records (BENCHMARKS.md). 4 MiB lets a
// fetch hold every partition of a consumer (512 KiB each): the event-time frontier waits for
// every partition, and one left out of a fetch round held the others until the next.
const CONSUMER_OPTIONS = {
  maxWaitTimeInMs: 100,
  sessionTimeout: 10_000,
  heartbeatInterval: 1_000,
  allowAutoTopicCreation: false,
  maxBytesPerPartition: 512 * 1024,
  maxBytes: 4 * 1024 * 1024,
};

/** Makes a kafkajs consumer in a group, for a slot's first run and for every restart. */
export type NewConsumer = (groupId: string) => Consumer;

export function consumerFactory(kafka: Kafka): NewConsumer {
  return (groupId) => kafka.consumer({ ...CONSUMER_OPTIONS, groupId });
}

/** A slot per group, each with a fresh consumer, not connected yet. */
export function createSlots(
  groups: readonly ConsumerGroup[],
  newConsumer: NewConsumer,
  logger: Logger,
): ConsumerSlot[] {
  return groups.map(({ name, groupId, topics, waitsFor }) => {
    const slot: ConsumerSlot = {
      name,
      groupId,
      topics,
      waitsFor,
      consumer: newConsumer(groupId),
      assignment: null,
      restarting: false,
      commits: new OffsetCommits(
        () => slot.consumer,
        (err) => logger.debug({ consumer: name, err: err.message }, 'offsets not committed yet, will try again'),
      ),
      inFlight: 0,
      queues: null,
      down: null,
      held: null,
      restartsWithoutProgress: 0,
    };
    return slot;
  });
}

/** What holding and releasing a slot reports to. */
export interface HoldDeps {
  admin: Admin;
  logger: Logger;
  metrics: Metrics;
}

/**
 * A fetch stopped at a record batch no codec decodes (an unknown codec, a corrupt batch). The
 * consumer is held there, never skipping past it: judging later records first could miss or
 * invent a violation. Readiness names the topic and the reason until a batch is judged again
 * (the supervisor keeps fetching it, with back-off, in case the cause was transient).
 */
export function holdAtUndecodable(slot: ConsumerSlot, error: { codec: string; message: string }, deps: HoldDeps): void {
  const { codec } = error;
  deps.metrics.undecodableBatches.inc({ consumer: slot.name, codec });
  deps.metrics.consumerHeld.set({ consumer: slot.name }, 1);
  const first = slot.held === null;
  slot.held = { codec, reason: error.message };
  slot.down = `${slot.name} consumer holds at a record batch it cannot decode on ${slot.topics.join(' or ')} (${error.message}); nothing after it is judged`;
  // A consumer reading two topics: the one with records left to judge is the one it stopped on.
  void topicsWithUncommitted(deps.admin, slot.groupId, slot.topics)
    .then((topics) => {
      if (topics.length === 0 || slot.held === null) return;
      slot.down = `${slot.name} consumer holds at a record batch it cannot decode on ${topics.join(' or ')} (${error.message}); nothing after it is judged`;
      if (first)
        deps.logger.error(
          { consumer: slot.name, topics, codec, err: error.message },
          'consumer holds at a record batch it cannot decode',
        );
    })
    .catch(() => {
      if (first)
        deps.logger.error(
          { consumer: slot.name, topics: slot.topics, codec, err: error.message },
          'consumer holds at a record batch it cannot decode',
        );
    });
}

/** The held consumer judged a batch again. */
export function releaseHold(slot: ConsumerSlot, deps: Omit<HoldDeps, 'admin'>): void {
  deps.logger.info(
    { consumer: slot.name, codec: slot.held?.codec },
    'consumer judges again after a batch it could not decode',
  );
  slot.held = null;
  slot.down = null;
  deps.metrics.consumerHeld.set({ consumer: slot.name }, 0);
}
