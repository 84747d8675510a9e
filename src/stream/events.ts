/**
 * What the stream layer reports about the records it handles. It never touches metrics or logs:
 * it emits these events, and observability (observability/stream-events.ts) turns them into
 * numbers and log lines, as kafkajs emits instrumentation events for whoever listens.
 */
import type { AlertRecord } from '../actions/records.js';
import type { ClockSkew } from '../events/decode.js';

/** What became of one input record (a metric label). */
export type EventOutcome = 'applied' | 'violation' | 'dead-lettered' | 'ignored';

/** A fetched batch was handled: judged and flushed, or stopped early (shutdown, revoked). */
export interface BatchHandled {
  type: 'batch.handled';
  /** Topic of the batch. */
  topic: string;
  /** Partition of the batch. */
  partition: number;
  /** Time taken, barrier waits included (s). */
  seconds: number;
}

/** Records of one event type and outcome, counted once per flushed chunk. */
export interface RecordsCounted {
  type: 'records.counted';
  /** Topic they were read from. */
  topic: string;
  /** Their event type (`unknown` for dead letters, `other` for control records not for pairguard). */
  eventType: string;
  /** What became of them. */
  outcome: EventOutcome;
  /** How many. */
  count: number;
}

/** A malformed record is about to go to the dead-letter topic. */
export interface RecordDeadLettered {
  type: 'record.dead-lettered';
  /** Where the record was read. */
  topic: string;
  partition: number;
  offset: string;
  /** Why it could not be decoded (events/decode.ts, DECODE_FAILURES). */
  reason: string;
}

/** An event dated further from its Kafka record than PAIRGUARD_MAX_CLOCK_SKEW allows. */
export interface ClockSkewed {
  type: 'clock.skewed';
  /** Where the record was read. */
  topic: string;
  partition: number;
  offset: string;
  /** The record's key, whose producer has the wrong clock. */
  key: Buffer | null;
  /** The record's Kafka timestamp (ms). */
  recordTimestamp: number;
  /** Ahead (judged as of the record timestamp) or behind (judged as stated). */
  direction: ClockSkew;
}

/** The open freeze breaker kept freezes from being requested (their alerts still go out). */
export interface FreezesWithheld {
  type: 'freezes.withheld';
  /** How many freezes were withheld. */
  withheld: number;
  /** One of them tripped the breaker just now. */
  tripped: boolean;
}

/** A person reset the freeze breaker. */
export interface BreakerReset {
  type: 'breaker.reset';
  /** Who reset it, as the reset record says. */
  by: string;
  /** Freezes the breaker had withheld. */
  withheld: number;
  /** Freezes requested now for those whose violation still stands. */
  applied: number;
}

/** A reviewer's `chat.unfrozen` lifted pairguard's freeze. */
export interface ChatUnfrozen {
  type: 'chat.unfrozen';
  chatId: string;
  /** The reviewer, when the record names one. */
  by?: string;
}

/** A message was sent in a chat pairguard froze: the platform did not enforce the freeze. */
export interface MessageAfterFreeze {
  type: 'message.after-freeze';
  /** Topic of the message. */
  topic: string;
}

/** An alert reached the alerts topic. */
export interface AlertWritten {
  type: 'alert.written';
  record: AlertRecord;
  /** Re-sent because an earlier run may have lost it: not a new violation. */
  recovered: boolean;
  /** When it was written (ms, the judge's clock): detection latency is this minus `occurredAt`. */
  writtenAt: number;
}

/** A freeze command reached the control topic. */
export interface FreezeWritten {
  type: 'freeze.written';
  alertId: string;
  chatId: string;
  /** Re-sent because an earlier run may have lost it: not a new freeze. */
  recovered: boolean;
}

/** A batch got a partition this far: the evidence behind the consumer lag gauges. */
export interface PartitionHandled {
  type: 'partition.handled';
  topic: string;
  partition: number;
  /** Next offset to handle. */
  next: bigint;
  /** The partition's high watermark as the batch was fetched. */
  high: bigint;
  /** Kafka timestamp of the last record handled (ms). */
  lastTimestamp: number;
}

export type StreamEvent =
  | BatchHandled
  | RecordsCounted
  | RecordDeadLettered
  | ClockSkewed
  | FreezesWithheld
  | BreakerReset
  | ChatUnfrozen
  | MessageAfterFreeze
  | AlertWritten
  | FreezeWritten
  | PartitionHandled;

/** Whoever listens to the stream layer; `emit` must not throw or wait (it runs on the judging path). */
export interface StreamEvents {
  emit(event: StreamEvent): void;
}

/** Listens to nothing. */
export const NO_EVENTS: StreamEvents = { emit: () => undefined };
