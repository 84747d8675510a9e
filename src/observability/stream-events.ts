/**
 * The stream layer's events (stream/events.ts) as on-call sees them: the metrics of contract §5
 * and the log lines of alerts, freezes, dead letters, clock skew and the freeze breaker.
 */
import type { Config } from '../config.js';
import type { StreamEvent, StreamEvents } from '../stream/events.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { OncePerKey } from './once-per-key.js';

/** Record keys whose clock skew is remembered as logged: a broken producer clock is logged once per key, not per record. */
const SKEW_KEYS_REMEMBERED = 10_000;

/** Bytes of a record key kept in that memory: bounded in bytes as well as in keys (ids are shorter). */
const SKEW_KEY_BYTES = 1024;

type Handlers = { [T in StreamEvent['type']]: (event: Extract<StreamEvent, { type: T }>) => void };

export class StreamObserver implements StreamEvents {
  private readonly skewLogged = new OncePerKey(SKEW_KEYS_REMEMBERED);
  private readonly handlers: Handlers;

  constructor(
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    /** Limits quoted in the log lines. */
    private readonly config: Pick<Config, 'freezeBudget' | 'freezeBudgetWindowSeconds' | 'maxClockSkewSeconds'>,
  ) {
    this.handlers = {
      'batch.handled': (e) => metrics.batchDuration.observe({ topic: e.topic }, e.seconds),
      'records.counted': (e) => metrics.events.inc({ topic: e.topic, type: e.eventType, outcome: e.outcome }, e.count),
      'record.dead-lettered': (e) => {
        metrics.deadLetters.inc({ topic: e.topic, reason: e.reason });
        logger.warn(
          { topic: e.topic, partition: e.partition, offset: e.offset, reason: e.reason },
          'malformed record sent to the dead-letter topic',
        );
      },
      'clock.skewed': (e) => this.clockSkewed(e),
      'freezes.withheld': (e) => this.freezesWithheld(e),
      'breaker.reset': (e) => {
        metrics.freezeBudgetExhausted.set(0);
        logger.warn(
          { by: e.by, withheld: e.withheld, applied: e.applied },
          'freeze breaker reset: automatic freezes resume',
        );
      },
      'chat.unfrozen': (e) => logger.info({ chatId: e.chatId, by: e.by }, 'chat unfrozen by reviewer'),
      'message.after-freeze': () => metrics.messagesAfterFreeze.inc(),
      'alert.written': (e) => this.alertWritten(e),
      'freeze.written': (e) => {
        logger.info({ alertId: e.alertId, chatId: e.chatId, recovered: e.recovered }, 'chat freeze requested');
        if (!e.recovered) metrics.freezes.inc();
      },
      'partition.handled': (e) => metrics.lag.handled(e.topic, e.partition, e.next, e.high, e.lastTimestamp),
    };
  }

  emit(event: StreamEvent): void {
    (this.handlers[event.type] as (e: StreamEvent) => void)(event);
  }

  /** Counts every skewed event; one ahead (judged as of its record's timestamp) is logged once per record key. */
  private clockSkewed(e: Extract<StreamEvent, { type: 'clock.skewed' }>): void {
    this.metrics.clockSkew.inc({ topic: e.topic, direction: e.direction });
    if (e.direction !== 'future') return;
    if (!this.skewLogged.first(`${e.topic}\u0000${e.key?.toString('utf8', 0, SKEW_KEY_BYTES) ?? ''}`)) return;
    this.logger.warn(
      {
        topic: e.topic,
        partition: e.partition,
        offset: e.offset,
        recordTimestamp: e.recordTimestamp,
        maxClockSkewSeconds: this.config.maxClockSkewSeconds,
      },
      "event dated ahead of its record's Kafka timestamp by more than PAIRGUARD_MAX_CLOCK_SKEW: judged as of the record timestamp (logged once per record key)",
    );
  }

  private freezesWithheld(e: Extract<StreamEvent, { type: 'freezes.withheld' }>): void {
    this.metrics.freezesWithheld.inc(e.withheld);
    this.metrics.freezeBudgetExhausted.set(1);
    const fields = {
      withheld: e.withheld,
      budget: this.config.freezeBudget,
      windowSeconds: this.config.freezeBudgetWindowSeconds,
    };
    if (e.tripped)
      this.logger.error(
        fields,
        'freeze breaker tripped: too many chats frozen in its window; alerting without freezing until a person resets it (pairguard breaker reset)',
      );
    else this.logger.warn(fields, 'freeze breaker open: alerting without freezing');
  }

  private alertWritten({ record: r, recovered, writtenAt }: Extract<StreamEvent, { type: 'alert.written' }>): void {
    this.logger.info(
      {
        alertId: r.alertId,
        chatId: r.chatId,
        pair: r.pair,
        missing: r.missing,
        trigger: r.trigger,
        action: r.action,
        recovered,
      },
      'unapproved pairing',
    );
    if (recovered) return;
    this.metrics.violations.inc({ trigger: r.trigger.type });
    this.metrics.detectionLatency.observe(Math.max(0, writtenAt - Date.parse(r.occurredAt)) / 1000);
  }
}
