/**
 * The metrics of contract §5 (names and labels are a contract with dashboards and alert rules).
 * Each monitor owns its Registry, so several monitors in one test process never collide.
 * No label ever holds a user id, chat id or text: labels are topic names, event types and reasons.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type EventOutcome = 'applied' | 'violation' | 'dead-lettered' | 'ignored';

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

  readonly consumerLag = new Gauge({
    name: 'pairguard_consumer_lag',
    help: 'Records between the last one handled and the high watermark, by input topic and partition',
    labelNames: ['topic', 'partition'] as const,
    registers: [this.registry],
  });

  readonly messagesAfterFreeze = new Counter({
    name: 'pairguard_messages_after_freeze_total',
    help: 'Messages sent in a chat pairguard froze: the platform did not enforce the freeze',
    registers: [this.registry],
  });

  readonly freezesWithheld = new Counter({
    name: 'pairguard_freezes_withheld_total',
    help: 'Freezes not requested because the freeze budget of the window was spent (the alert was still written)',
    registers: [this.registry],
  });

  /** End (ms) of the freeze-budget window this instance last found spent. */
  freezeBudgetSpentUntil = 0;

  readonly freezeBudgetExhausted = new Gauge({
    name: 'pairguard_freeze_budget_exhausted',
    help: '1 while the current freeze-budget window is spent: violations are alerted but not frozen',
    registers: [this.registry],
    collect: () => {
      this.freezeBudgetExhausted.set(Date.now() < this.freezeBudgetSpentUntil ? 1 : 0);
    },
  });

  readonly redisUp = new Gauge({ name: 'pairguard_redis_up', help: '1 when Redis answers', registers: [this.registry] });
  readonly kafkaUp = new Gauge({ name: 'pairguard_kafka_up', help: '1 when the Kafka cluster answers', registers: [this.registry] });

  readonly ready = new Gauge({
    name: 'pairguard_ready',
    help: '1 once the approval cache has caught up and Kafka and Redis answer',
    registers: [this.registry],
  });

  constructor(opts: { processMetrics?: boolean } = {}) {
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }
}
