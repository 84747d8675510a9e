/**
 * Reads topics from their beginning up to the end they had when reading started, as one ordered
 * stream per partition, for the merge. One consumer in a throw-away group fetches every partition;
 * a partition whose buffer is full is paused until the merge has drained it, so memory stays
 * bounded by partitions × buffer, however long the history. Nothing is committed, and no other
 * group's offsets (the monitor's) are touched.
 */
import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { DecodeLimits } from '../events/decode.js';
import { PairguardError } from '../errors.js';
import type { HistoryRecord, HistoryRole } from './history-record.js';
import { classify } from './history-record.js';

/** A topic to read and what it holds. */
export interface TopicSource {
  role: HistoryRole;
  topic: string;
}

export interface ReadHistoryOptions {
  kafka: Kafka;
  sources: readonly TopicSource[];
  limits: DecodeLimits;
  /** Records buffered per partition before it is paused (default 4,000). */
  bufferPerPartition?: number;
  /** How long a partition may make no progress before reading fails (default 60 s). */
  stallTimeoutMs?: number;
  /** Prefix of the throw-away consumer group's id. */
  groupPrefix?: string;
  /**
   * Keep each record's key and value bytes (an export needs them; judging does not). Dropping
   * them also lets the fetch responses they are sliced from be freed while records wait.
   */
  keepBytes?: boolean;
}

export interface HistoryReader {
  /** Records on the topics when reading started: everything that will be read. */
  readonly total: number;
  /** One ordered stream per partition. */
  readonly streams: ReadonlyArray<AsyncIterable<HistoryRecord>>;
  /** Records handed to the streams' consumers so far. */
  read(): number;
  /** Stops the consumer and deletes its group; safe to call twice. */
  close(): Promise<void>;
}

class PartitionBuffer {
  items: Array<HistoryRecord | undefined> = [];
  head = 0;
  previousAt = 0;
  done: boolean;
  resume: (() => void) | null = null;
  waiter: (() => void) | null = null;
  lastProgress = Date.now();

  constructor(
    readonly role: HistoryRole,
    readonly topic: string,
    readonly partition: number,
    /** Next offset wanted. */
    public next: bigint,
    /** End of the snapshot: offsets from here on are not read. */
    readonly high: bigint,
  ) {
    this.done = next >= high;
  }

  get buffered(): number {
    return this.items.length - this.head;
  }

  wake(): void {
    this.lastProgress = Date.now();
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }
}

export async function openHistory(opts: ReadHistoryOptions): Promise<HistoryReader> {
  const bufferMax = opts.bufferPerPartition ?? 4_000;
  const resumeAt = Math.floor(bufferMax / 4);
  const stallMs = opts.stallTimeoutMs ?? 60_000;
  const groupId = `${opts.groupPrefix ?? 'pairguard-history'}-${randomBytes(6).toString('hex')}`;

  const admin = opts.kafka.admin();
  await admin.connect();
  const buffers = new Map<string, PartitionBuffer>();
  const slot = (topic: string, partition: number) => `${topic}\u0000${partition}`;
  let total = 0;
  try {
    // The snapshot comes first: records written while reading are not part of this history.
    for (const s of opts.sources) {
      for (const w of await admin.fetchTopicOffsets(s.topic)) {
        const b = new PartitionBuffer(s.role, s.topic, w.partition, BigInt(w.low), BigInt(w.high));
        buffers.set(slot(s.topic, w.partition), b);
        total += Number(b.high - b.next);
      }
    }
  } catch (err) {
    await admin.disconnect();
    throw err;
  }

  let failure: Error | null = null;
  const failAll = (err: Error) => {
    failure ??= err;
    for (const b of buffers.values()) b.wake();
  };

  const consumer = opts.kafka.consumer({
    groupId,
    maxWaitTimeInMs: 50,
    maxBytesPerPartition: 512 * 1024,
    allowAutoTopicCreation: false,
  });
  consumer.on(consumer.events.CRASH, (e) => {
    if (!e.payload.restart)
      failAll(
        new PairguardError('KAFKA_UNAVAILABLE', `reading history failed: ${e.payload.error?.message}`, {
          cause: e.payload.error,
        }),
      );
  });
  let read = 0;
  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      await consumer.disconnect().catch(() => undefined);
      await admin.deleteGroups([groupId]).catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    })());

  const pending = [...buffers.values()].filter((b) => !b.done);
  if (pending.length > 0) {
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [...new Set(pending.map((b) => b.topic))], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch, pause }) => {
          const b = buffers.get(slot(batch.topic, batch.partition));
          if (!b || b.done) {
            pause(); // a partition created after the snapshot, or one already read to its end
            return;
          }
          for (const m of batch.messages) {
            const offset = BigInt(m.offset);
            if (offset < b.next) continue; // re-fetched after a pause
            if (offset >= b.high) break;
            const c = classify(b.role, m.value, opts.limits, b.previousAt, Number(m.timestamp));
            b.previousAt = c.at;
            const keep = opts.keepBytes ?? true;
            b.items.push({
              role: b.role,
              topic: b.topic,
              partition: b.partition,
              offset: m.offset,
              key: keep ? m.key : null,
              value: keep ? m.value : null,
              at: c.at,
              timed: c.timed,
              content: c.content,
            });
            b.next = offset + 1n;
          }
          // Transaction markers are filtered out of `messages` but still take offsets.
          const after = BigInt(batch.lastOffset()) + 1n;
          if (after > b.next && after <= b.high) b.next = after;
          if (b.next >= b.high) {
            b.done = true;
            pause();
          } else if (b.buffered >= bufferMax && !b.resume) {
            b.resume = pause();
          }
          b.wake();
        },
      });
    } catch (err) {
      await close();
      throw new PairguardError('KAFKA_UNAVAILABLE', `cannot read history: ${(err as Error).message}`, { cause: err });
    }
  }

  async function* stream(b: PartitionBuffer): AsyncGenerator<HistoryRecord> {
    for (;;) {
      if (b.buffered > 0) {
        const r = b.items[b.head]!;
        b.items[b.head++] = undefined;
        if (b.head >= 1024 && b.head * 2 >= b.items.length) {
          b.items = b.items.slice(b.head);
          b.head = 0;
        }
        if (b.resume && b.buffered <= resumeAt) {
          b.resume();
          b.resume = null;
        }
        read++;
        yield r;
        continue;
      }
      if (failure) throw failure;
      if (b.done) return;
      await new Promise<void>((resolve) => {
        b.waiter = resolve;
        const timer = setTimeout(() => {
          if (Date.now() - b.lastProgress >= stallMs) {
            failAll(
              new PairguardError(
                'HISTORY_READ_STALLED',
                `reading ${b.topic} partition ${b.partition} made no progress for ${Math.round(stallMs / 1000)} s at offset ${b.next} of ${b.high}`,
              ),
            );
          } else resolve();
        }, stallMs);
        b.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  return {
    total,
    streams: [...buffers.values()].map(stream),
    read: () => read,
    close,
  };
}
