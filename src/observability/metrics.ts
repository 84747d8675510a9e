/**
 * The metrics of contract §5 (names and labels are a contract with dashboards and alert rules),
 * then the ones on-call needs to tell a healthy monitor from a struggling one.
 * Each monitor owns its Registry, so several monitors in one test process never collide.
 * No label ever holds a user id, chat id or text: labels are topic names, event types, reasons,
 * consumer names and store operation names, all from fixed sets.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { DECODE_FAILURES } from '../events/decode.js';
import type { BuildInfo } from './build-info.js';
import { buildInfo } from './build-info.js';
import type { ConsumerName } from '../stream/consumer-groups.js';
import { ConsumerLag } from './consumer-lag.js';

/** Event types that can reveal an unapproved pairing (contract §1). */
const TRIGGER_TYPES = ['chat.created', 'member.added', 'message.sent', 'contact.revoked', 'user.registered'] as const;

/** What the monitor consumes, for pre-creating series (see `initialise`). */
export interface Consumed {
  /** Consumer name → the topics it reads. */
  consumers: ReadonlyArray<readonly [ConsumerName, readonly string[]]>;
}

export class Metrics {
  readonly registry = new Registry();

  readonly events = new Counter({
    name: 'pairguard_events_total',
    help: 'Input records handled, by topic, event type and outcome',
    labelNames: ['topic', 'type', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly violations = new Counter({
    name: 'pairguard_violations_total',
    help: 'Unapproved pairings detected (one per pairing per violation episode), by triggering event type',
    labelNames: ['trigger'] as const,
    registers: [this.registry],
  });

  readonly freezes = new Counter({
    name: 'pairguard_chat_freezes_total',
    help: 'chat.freeze commands written',
    registers: [this.registry],
  });

  readonly detectionLatency = new Histogram({
    name: 'pairguard_detection_latency_seconds',
    help: "Time from the triggering event's occurredAt to its alert being written",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly deadLetters = new Counter({
    name: 'pairguard_dead_letters_total',
    help: 'Malformed records sent to the dead-letter topic, by source topic and reason',
    labelNames: ['topic', 'reason'] as const,
    registers: [this.registry],
  });

  readonly clockSkew = new Counter({
    name: 'pairguard_clock_skew_events_total',
    help: "Events whose occurredAt lies further than PAIRGUARD_MAX_CLOCK_SKEW from their record's Kafka timestamp, by topic and direction (future: judged as of the record timestamp; past: judged as stated)",
    labelNames: ['topic', 'direction'] as const,
    registers: [this.registry],
  });

  /** Positions behind both lag gauges, read when they are scraped. */
  readonly lag: ConsumerLag;

  readonly consumerLag = new Gauge({
    name: 'pairguard_consumer_lag',
    help: 'Records between the last one handled and the high watermark, by input topic and partition',
    labelNames: ['topic', 'partition'] as const,
    registers: [this.registry],
    collect: () => {
      this.consumerLag.reset();
      for (const r of this.lag.rows())
        this.consumerLag.set({ topic: r.topic, partition: String(r.partition) }, r.records);
    },
  });

  readonly messagesAfterFreeze = new Counter({
    name: 'pairguard_messages_after_freeze_total',
    help: 'Messages sent in a chat pairguard froze: the platform did not enforce the freeze',
    registers: [this.registry],
  });

  readonly freezesWithheld = new Counter({
    name: 'pairguard_freezes_withheld_total',
    help: 'Freezes not requested because the freeze breaker is open (the alert was still written, saying so)',
    registers: [this.registry],
  });

  readonly freezeBudgetExhausted = new Gauge({
    name: 'pairguard_freeze_budget_exhausted',
    help: '1 while the freeze breaker is open (too many chats frozen in its window): violations are alerted, not frozen, until a person resets it',
    registers: [this.registry],
  });

  readonly freezesWithheldPending = new Gauge({
    name: 'pairguard_freezes_withheld_pending',
    help: 'Freezes withheld by the open freeze breaker and not yet applied (pairguard breaker status lists them)',
    registers: [this.registry],
  });

  readonly redisUp = new Gauge({
    name: 'pairguard_redis_up',
    help: '1 when Redis answers',
    registers: [this.registry],
  });
  readonly kafkaUp = new Gauge({
    name: 'pairguard_kafka_up',
    help: '1 when the Kafka cluster answers',
    registers: [this.registry],
  });

  readonly ready = new Gauge({
    name: 'pairguard_ready',
    help: '1 once the approval cache has caught up and Kafka and Redis answer',
    registers: [this.registry],
  });

  // ---- Beyond the contract: the monitor's own health.

  readonly consumerLagSeconds = new Gauge({
    name: 'pairguard_consumer_lag_seconds',
    help: 'How long the first record not yet handled has waited (from record timestamps; 0 when caught up), by input topic and partition',
    labelNames: ['topic', 'partition'] as const,
    registers: [this.registry],
    collect: () => {
      this.consumerLagSeconds.reset();
      for (const r of this.lag.rows())
        this.consumerLagSeconds.set({ topic: r.topic, partition: String(r.partition) }, r.seconds);
    },
  });

  readonly batchDuration = new Histogram({
    name: 'pairguard_batch_processing_seconds',
    help: 'Time to handle one fetched batch, waits for the approval cache included, by topic',
    labelNames: ['topic'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly barrierWait = new Histogram({
    name: 'pairguard_ordering_wait_seconds',
    help: 'Time a batch waited for the records it depends on to be applied (membership: approvals; messages: approvals and membership), by waiting stream',
    labelNames: ['stream'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly batchFailures = new Counter({
    name: 'pairguard_batch_failures_total',
    help: 'Batches that failed (Redis or Kafka errors) and will be fetched again, by topic',
    labelNames: ['topic'] as const,
    registers: [this.registry],
  });

  readonly rebalances = new Counter({
    name: 'pairguard_consumer_rebalances_total',
    help: 'Consumer group rebalances this process took part in after joining, by consumer',
    labelNames: ['consumer'] as const,
    registers: [this.registry],
  });

  readonly consumerCrashes = new Counter({
    name: 'pairguard_consumer_crashes_total',
    help: 'Consumer crashes reported by kafkajs, by consumer and whether kafkajs restarts it',
    labelNames: ['consumer', 'restart'] as const,
    registers: [this.registry],
  });

  readonly undecodableBatches = new Counter({
    name: 'pairguard_undecodable_batches_total',
    help: 'Fetches that stopped at a record batch no codec could decode (unknown codec or corrupt batch), by consumer and codec',
    labelNames: ['consumer', 'codec'] as const,
    registers: [this.registry],
  });

  readonly consumerHeld = new Gauge({
    name: 'pairguard_consumer_held',
    help: '1 while a consumer holds at a record batch it cannot decode (nothing after it is judged until it can be), by consumer',
    labelNames: ['consumer'] as const,
    registers: [this.registry],
  });

  readonly assignedPartitions = new Gauge({
    name: 'pairguard_consumer_assigned_partitions',
    help: 'Partitions assigned to this process at its last group join, by consumer',
    labelNames: ['consumer'] as const,
    registers: [this.registry],
  });

  readonly redisCommandDuration = new Histogram({
    name: 'pairguard_redis_command_duration_seconds',
    help: 'Round trip of one state-store operation to Redis (a command, script or pipeline), by operation',
    labelNames: ['operation'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly frozenChats = new Gauge({
    name: 'pairguard_frozen_chats',
    help: 'Chats pairguard froze that no reviewer has unfrozen yet (shared state: the same for every instance)',
    registers: [this.registry],
  });

  /** Which pairguard this is; also the labels of pairguard_build_info. */
  readonly build: BuildInfo;

  readonly buildInfo = new Gauge({
    name: 'pairguard_build_info',
    help: 'Always 1; its labels say which pairguard runs: version (package.json), revision (git commit it was built from, or unknown) and node (Node.js version)',
    labelNames: ['version', 'revision', 'node'] as const,
    registers: [this.registry],
  });

  /** `now` is the wall clock the lag gauges read (ms); the monitor's own when it passes one. */
  constructor(opts: { processMetrics?: boolean; now?: () => number; build?: BuildInfo } = {}) {
    this.lag = new ConsumerLag(opts.now ?? Date.now);
    this.build = opts.build ?? buildInfo();
    this.buildInfo.set({ ...this.build }, 1);
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /**
   * Creates the labelled series that may stay at zero for a long time, so dashboards show 0
   * instead of "no data" and rate() sees the first increment.
   */
  initialise(consumed: Consumed): void {
    for (const trigger of TRIGGER_TYPES) this.violations.inc({ trigger }, 0);
    for (const [consumer, topics] of consumed.consumers) {
      this.rebalances.inc({ consumer }, 0);
      this.consumerCrashes.inc({ consumer, restart: 'true' }, 0);
      this.consumerCrashes.inc({ consumer, restart: 'false' }, 0);
      this.consumerHeld.set({ consumer }, 0);
      for (const topic of topics) {
        this.batchFailures.inc({ topic }, 0);
        for (const reason of DECODE_FAILURES) this.deadLetters.inc({ topic, reason }, 0);
        for (const direction of ['future', 'past']) this.clockSkew.inc({ topic, direction }, 0);
      }
    }
  }
}
