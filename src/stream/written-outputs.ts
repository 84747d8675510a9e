/**
 * Reads back what pairguard already wrote: its alerts, its `chat.freeze` records and reviewers'
 * `chat.unfrozen` on the control topic, from the earliest offset to the read-committed end each
 * partition had when reading started, so a rebuild can learn them (state/learned.ts) before it
 * re-judges history. One consumer in a throw-away group (`<groupId>.rebuild-<random>`), nothing
 * committed; the rebuild's own groups are not touched.
 */
import { randomBytes } from 'node:crypto';
import type { Batch, Kafka } from 'kafkajs';
import type { DecodeLimits } from '../events/decode.js';
import { decodeControl } from '../events/decode.js';
import { PairguardError } from '../errors.js';
import type { PartitionEnd, WrittenOutput } from '../state/learned.js';

export interface WrittenOutputsOptions {
  kafka: Kafka;
  topics: { alerts: string; control: string };
  /** The monitor's group id: the reader's group is named after it (its ACLs, README). */
  groupId: string;
  limits: DecodeLimits;
  /** PAIRGUARD_MAX_CLOCK_SKEW in ms: an unfreeze's moment is bounded as when it is judged. */
  maxSkewMs: number;
  /** Takes each fetched batch's outputs before the next is fetched. */
  onOutputs: (outputs: WrittenOutput[]) => Promise<void>;
  /** How long reading may make no progress before it fails (default 60 s). */
  stallTimeoutMs?: number;
}

/** What was read: the ends read to, and how many records of each kind. */
export interface WrittenOutputsRead {
  ends: Record<string, PartitionEnd[]>;
  counts: Record<WrittenOutput['kind'], number>;
}

export async function readWrittenOutputs(opts: WrittenOutputsOptions): Promise<WrittenOutputsRead> {
  const admin = opts.kafka.admin();
  await admin.connect();
  const wanted = new Map<string, bigint>();
  const ends: Record<string, PartitionEnd[]> = {};
  try {
    for (const topic of [opts.topics.alerts, opts.topics.control]) {
      // ListOffsets is read_committed here (kafkajs's default): `high` is the last stable offset.
      const offsets = await admin.fetchTopicOffsets(topic);
      ends[topic] = offsets.map((o) => ({ partition: o.partition, offset: o.high }));
      for (const o of offsets) if (BigInt(o.high) > BigInt(o.low)) wanted.set(slot(topic, o.partition), BigInt(o.high));
    }
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  const counts = { alert: 0, freeze: 0, unfreeze: 0 };
  if (wanted.size > 0) await readUntil(opts, wanted, counts);
  return { ends, counts };
}

const slot = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/** Reads every wanted partition up to its end; each batch's outputs go to `onOutputs` before the next. */
async function readUntil(
  opts: WrittenOutputsOptions,
  wanted: Map<string, bigint>,
  counts: WrittenOutputsRead['counts'],
): Promise<void> {
  const groupId = `${opts.groupId}.rebuild-${randomBytes(6).toString('hex')}`;
  const consumer = opts.kafka.consumer({ groupId, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
  const admin = opts.kafka.admin();
  let lastProgress = Date.now();
  let settle!: { resolve: () => void; reject: (err: Error) => void };
  const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  done.catch(() => undefined); // awaited below; a failure before then is not unhandled
  /** A partition read through `lastOffset`: done once that reaches its end (markers take offsets too). */
  const reached = (topic: string, partition: number, lastOffset: string): boolean => {
    lastProgress = Date.now();
    const end = wanted.get(slot(topic, partition));
    if (end === undefined || BigInt(lastOffset) + 1n < end) return end === undefined;
    wanted.delete(slot(topic, partition));
    if (wanted.size === 0) settle.resolve();
    return true;
  };
  consumer.on(consumer.events.CRASH, (e) => {
    if (!e.payload.restart)
      settle.reject(
        new PairguardError('KAFKA_UNAVAILABLE', `reading pairguard's outputs failed: ${e.payload.error?.message}`),
      );
  });
  // kafkajs skips a fetch of only transaction markers or aborted records without calling eachBatch.
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.batchSize === 0) reached(payload.topic, payload.partition, payload.lastOffset);
  });
  const stallMs = opts.stallTimeoutMs ?? 60_000;
  const watch = setInterval(() => {
    if (Date.now() - lastProgress > stallMs)
      settle.reject(
        new PairguardError(
          'HISTORY_READ_STALLED',
          `reading pairguard's outputs made no progress for ${Math.round(stallMs / 1000)} s`,
        ),
      );
  }, 1_000);
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [opts.topics.alerts, opts.topics.control], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, pause }) => {
        const end = wanted.get(slot(batch.topic, batch.partition));
        if (end === undefined) {
          pause(); // read to its end already, or empty when reading started
          return;
        }
        const outputs = classifyBatch(opts, batch, end);
        for (const o of outputs) counts[o.kind]++;
        if (outputs.length > 0) await opts.onOutputs(outputs);
        if (reached(batch.topic, batch.partition, batch.lastOffset())) pause();
      },
    });
    await done;
  } finally {
    clearInterval(watch);
    await consumer.disconnect().catch(() => undefined);
    await admin.connect().then(
      () => admin.deleteGroups([groupId]).catch(() => undefined),
      () => undefined,
    );
    await admin.disconnect().catch(() => undefined);
  }
}

/** The outputs of a batch's records below `end`: alerts, pairguard's freezes, reviewers' unfreezes. */
export function classifyBatch(
  opts: Pick<WrittenOutputsOptions, 'topics' | 'limits' | 'maxSkewMs'>,
  batch: Pick<Batch, 'topic' | 'partition' | 'messages'>,
  end: bigint,
): WrittenOutput[] {
  const out: WrittenOutput[] = [];
  for (const m of batch.messages) {
    if (BigInt(m.offset) >= end) break;
    const o =
      batch.topic === opts.topics.alerts
        ? alertOf(m.value)
        : controlOf(m.value, batch.partition, m.offset, {
            limits: opts.limits,
            clock: { timestamp: Number(m.timestamp), maxSkewMs: opts.maxSkewMs },
          });
    if (o) out.push(o);
  }
  return out;
}

function parse(value: Buffer | null, maxBytes: number): Record<string, unknown> | null {
  if (!value || value.length > maxBytes) return null;
  try {
    const o: unknown = JSON.parse(value.toString('utf8'));
    return o !== null && typeof o === 'object' && !Array.isArray(o) ? (o as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const text = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** An alert pairguard wrote (contract §3); anything else on the topic is not one. */
function alertOf(value: Buffer | null): WrittenOutput | null {
  const o = parse(value, 1 << 20);
  if (!o || o.type !== 'pairing.unapproved' || !text(o.alertId) || !text(o.chatId)) return null;
  return { kind: 'alert', chatId: o.chatId, alertId: o.alertId };
}

/** pairguard's `chat.freeze`, or a reviewer's `chat.unfrozen` (judged as the membership consumer judges it). */
function controlOf(
  value: Buffer | null,
  partition: number,
  offset: string,
  how: { limits: DecodeLimits; clock: { timestamp: number; maxSkewMs: number } },
): WrittenOutput | null {
  const o = parse(value, how.limits.maxValueBytes);
  if (o?.type === 'chat.freeze') {
    const requestedAt = typeof o.requestedAt === 'string' ? Date.parse(o.requestedAt) : NaN;
    if (!text(o.chatId) || !text(o.alertId) || Number.isNaN(requestedAt)) return null;
    return { kind: 'freeze', chatId: o.chatId, alertId: o.alertId, partition, offset, requestedAt };
  }
  if (o?.type !== 'chat.unfrozen') return null;
  const d = decodeControl(value, how.limits, how.clock);
  if (!d?.ok || d.event.type !== 'chat.unfrozen') return null;
  return { kind: 'unfreeze', chatId: d.event.chatId, partition, offset, at: d.at };
}
