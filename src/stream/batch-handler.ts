/**
 * One kafkajs batch, end to end, as a composition of the steps in batch/, in two parts: prepared
 * where kafkajs hands it over (prepareBatch: approvals and membership apply their facts ahead),
 * then judged, possibly in several attempts and with the partition's later batches appended
 * (judgePrepared; the monitor queues it: monitor/judging-queues.ts). Judging takes a chunk of
 * records at a time: decoded, planned into lanes, judged lane by lane, collected in record order
 * and flushed (outputs written, then records marked done). Offsets move only after the effects
 * are durable, so a crash replays records rather than losing them; replays are harmless because
 * state updates are merges and alert ids are deterministic.
 */
import { performance } from 'node:perf_hooks';
import type { Batch, EachBatchPayload, KafkaMessage } from 'kafkajs';
import type { BatchContext } from './batch/context.js';
import type { DecodedChunk, Source } from './batch/decode-chunk.js';
import { decodeChunk, sourceOf } from './batch/decode-chunk.js';
import { doneThrough, flushChunk, markApplied } from './batch/flush.js';
import type { ChunkOutcome, LatenessFrom } from './batch/judge-chunk.js';
import { batchStopped, exclusive, judgeChunk } from './batch/judge-chunk.js';
import { applyBatchFacts } from './batch/apply-batch.js';
import type { ChunkHooks } from './batch/judge-record.js';

export type { BatchContext };

/** Records judged between two flushes: bounds the work a crash replays and the outputs held in memory. */
export const FLUSH_EVERY = 500;

/**
 * A fetched batch made ready to judge: for approvals and membership, its facts applied and marked
 * ahead (batch/apply-batch.ts), with the marks its records' lateness is judged by read before.
 * `from` is the first record not judged yet: judging it may take several attempts (judgePrepared).
 */
export interface PreparedBatch {
  payload: EachBatchPayload;
  source: Source;
  /** When the batch was fetched (ms; FrontierAsk.fetchedAt). */
  fetchedAt: number;
  /** For approvals and membership: the marks read before the facts were applied ahead, by batch. */
  lateness: LatenessFrom[] | undefined;
  /** The batch's first record not judged yet. */
  from: number;
  /** Its last record judged, for the lag it reports. */
  last: KafkaMessage | null;
  readonly hooks: BatchHooks;
  readonly state: StateGuard;
  readonly started: number;
}

/** How judging a prepared batch ended: all of it done, given up at the frontier to try again, or stopped. */
export type JudgedBatch = 'done' | 'yielded' | 'stopped';

/**
 * Judges a kafkajs batch where it was fetched: prepared, then judged as far as the frontier lets
 * it in one attempt. A batch given up at the frontier is left unresolved, so kafkajs fetches it
 * again (the monitor's consumers instead queue it and try again: monitor/judging-queues.ts).
 */
export async function handleBatch(ctx: BatchContext, payload: EachBatchPayload): Promise<void> {
  const prepared = await prepareBatch(ctx, payload);
  if (prepared === null) return;
  if ((await judgePrepared(ctx, prepared)) === 'yielded') reportHandled(ctx, prepared);
}

/** Prepares a batch for judging (PreparedBatch); null when the state in Redis is gone (ctx.onStateLost called). */
export async function prepareBatch(ctx: BatchContext, payload: EachBatchPayload): Promise<PreparedBatch | null> {
  const { batch } = payload;
  const source = sourceOf(ctx.config.topics, batch.topic);
  if (!source) throw new Error(`received a batch from unexpected topic ${batch.topic}`);
  const started = performance.now();
  const fetchedAt = Date.now();
  const state = new StateGuard(ctx);
  // What a record's lateness is judged by (judge-chunk.ts): the marks as they were before its
  // facts were first applied, so for a batch whose facts are applied ahead, before that.
  let lateness: LatenessFrom[] | undefined;
  if (source === 'approvals' || source === 'membership') {
    if (!(await state.checked())) {
      ctx.onStateLost();
      return null;
    }
    lateness = await exclusive(ctx, batch, async () => {
      const [judgedBefore, applied] = await Promise.all([
        ctx.judge.store.judgedThrough(),
        ctx.judge.store.appliedPositions(batch.topic),
      ]);
      const appliedBefore = applied.get(batch.partition)?.next ?? 0n;
      await applyBatchFacts(ctx, payload, source, appliedBefore, FLUSH_EVERY);
      return [{ judgedBefore, appliedBefore, fromOffset: BigInt(batch.messages[0]?.offset ?? 0) }];
    });
  }
  return { payload, source, fetchedAt, lateness, from: 0, last: null, hooks: batchHooks(), state, started };
}

/**
 * Judges a prepared batch from its first record not judged yet, a chunk at a time, each flushed
 * (outputs written, records done) before the next. Stops early when the batch is to be given up
 * (`stopped`: shutdown, partition revoked, state lost) or when the frontier does not reach the
 * next record in time (`yielded`: `prepared.from` says where to go on).
 */
export async function judgePrepared(ctx: BatchContext, prepared: PreparedBatch): Promise<JudgedBatch> {
  const { payload, source, fetchedAt, lateness, hooks, state } = prepared;
  const { batch } = payload;
  // Decisions of an earlier attempt that stopped before writing them are unsent, not pending:
  // judged again, they are recognised as such and sent (judge/reconcile.ts).
  hooks.unsent.clear();
  while (prepared.from < batch.messages.length) {
    if (batchStopped(payload)) break;
    const from = prepared.from;
    const to = Math.min(batch.messages.length, from + FLUSH_EVERY);
    const judged = await judgeGuarded(ctx, payload, source, { from, to, fetchedAt, lateness }, hooks, state);
    if (judged === 'state-lost') {
      ctx.onStateLost();
      return 'stopped';
    }
    // An abandoned chunk (shutting down, partition revoked, or the frontier not reached in time)
    // is neither written nor committed: it is judged again by whoever consumes it next, and
    // decisions it already recorded are recognised then as unsent and sent.
    if (judged === 'yielded') return 'yielded';
    if (judged === null) break;
    prepared.last = batch.messages[judged.to - 1]!;
    await flushChunk(ctx, payload, source, judged.judged, doneThrough(batch, judged.to));
    hooks.unsent.clear();
    prepared.from = judged.to;
  }
  reportHandled(ctx, prepared);
  return prepared.from < batch.messages.length ? 'stopped' : 'done';
}

/**
 * The batch as its own copy, which later batches of its partition can be appended to
 * (appendPrepared): kafkajs's is its own.
 */
export function ownBatch(batch: Batch): Batch {
  let lastOffset = batch.lastOffset();
  const own: Batch = Object.assign(Object.create(Object.getPrototypeOf(batch) as object) as Batch, batch, {
    messages: [...batch.messages],
    lastOffset: () => lastOffset,
  });
  ownBatchEnd.set(own, (next) => (lastOffset = next));
  return own;
}
const ownBatchEnd = new WeakMap<Batch, (lastOffset: string) => void>();

/**
 * Appends `next`, the partition's next batch, to `into`, prepared and not judged yet, so that
 * both are judged as one: one wait at the frontier for the records of both, each record's
 * lateness still judged by its own batch's marks. `into`'s batch must be an ownBatch copy.
 */
export function appendPrepared(into: PreparedBatch, next: PreparedBatch): void {
  const batch = into.payload.batch;
  const setEnd = ownBatchEnd.get(batch);
  if (!setEnd) throw new Error('appendPrepared: the batch appended to is not its own copy (ownBatch)');
  batch.messages.push(...next.payload.batch.messages);
  setEnd(next.payload.batch.lastOffset());
  (batch as { highWatermark: string }).highWatermark = next.payload.batch.highWatermark;
  if (into.lateness && next.lateness) into.lateness.push(...next.lateness);
  // Watermarks read since the later fetch serve both (frontier.ts, WatermarkCache).
  into.fetchedAt = next.fetchedAt;
}

/**
 * A fetch that returned only transaction markers or aborted records: kafkajs skips past it
 * without calling eachBatch. Those offsets are done all the same, or the applied marks would stop
 * one short of the read-committed end after every transaction and the barrier would wait for
 * ever (transactional producers write a commit marker after each transaction).
 */
export async function handleFilteredBatch(
  ctx: BatchContext,
  topic: string,
  partition: number,
  lastOffset: string,
): Promise<void> {
  const next = (BigInt(lastOffset) + 1n).toString();
  await markApplied(ctx, sourceOf(ctx.config.topics, topic), topic, partition, next);
  ctx.done(topic, partition, next);
}

/** What every chunk of the batch shares: its unsent decisions, and its records decoded and not judged yet. */
type BatchHooks = Omit<ChunkHooks, 'view' | 'lateBy'> & {
  /** By batch index; a record's entry is dropped once a chunk past it is judged. */
  decoded?: { source: Source; records: Array<DecodedChunk['records'][number] | undefined>; freedBelow: number };
};

function batchHooks(): BatchHooks {
  return { unsent: new Set() };
}

/**
 * Records [from, from + messages.length) decoded, each once for all the attempts at judging it:
 * a batch that waits at the frontier tries again, often judging a few records a time while the
 * partitions it waits for catch up, and decoding the chunk again each time was most of what a wait
 * cost. Records before `from` are judged: their entries are dropped, so what decoding allocates
 * is held only while its record waits.
 */
function decodedOnce(
  hooks: BatchHooks,
  source: Source,
  from: number,
  messages: readonly KafkaMessage[],
  ctx: BatchContext,
): DecodedChunk {
  const cache = (hooks.decoded ??= { source, records: [], freedBelow: 0 });
  for (; cache.freedBelow < from; cache.freedBelow++) cache.records[cache.freedBelow] = undefined;
  const missing = messages.findIndex((_, i) => cache.records[from + i] === undefined);
  if (missing >= 0) {
    const fresh = decodeChunk(source, messages.slice(missing), ctx.limits, ctx.config.maxClockSkewSeconds);
    fresh.records.forEach((r, i) => (cache.records[from + missing + i] = r));
  }
  return { source, records: cache.records.slice(from, from + messages.length) } as DecodedChunk;
}

/** Decodes and judges records [from, to), writing nothing unless the state in Redis is known to be there. */
async function judgeGuarded(
  ctx: BatchContext,
  payload: EachBatchPayload,
  source: Source,
  { from, to, fetchedAt, lateness }: { from: number; to: number; fetchedAt: number; lateness?: LatenessFrom[] },
  hooks: BatchHooks,
  state: StateGuard,
): Promise<ChunkOutcome | 'state-lost'> {
  const messages = payload.batch.messages.slice(from, to);
  const decoded = decodedOnce(hooks, source, from, messages, ctx);
  // Read before the chunk's facts are applied: a judge past it since may have judged without them.
  // (Read before the batch's facts were applied ahead, for approvals and membership: `lateness`.)
  const judgedBefore = lateness ? null : settleQuietly(ctx.judge.store.judgedThrough());
  const appliedBefore = settleQuietly(ctx.judge.store.appliedPositions(payload.batch.topic));
  if (!(await state.checked())) return 'state-lost';
  const applied = (await appliedBefore).get(payload.batch.partition)?.next ?? 0n;
  const before = {
    appliedBefore: applied,
    lateness: lateness ?? [
      { judgedBefore: await (judgedBefore ?? ctx.judge.store.judgedThrough()), appliedBefore: applied, fromOffset: 0n },
    ],
    fetchedAt,
  };
  const judged = await judgeChunk(ctx, payload, { from, messages, decoded, ...before }, hooks);
  if (judged !== null && judged !== 'yielded' && !(await state.intactSinceJudged())) return 'state-lost';
  return judged;
}

/**
 * Judging against a Redis that lost its state would be judging blind (every approval forgotten:
 * a false freeze for every chat). The first check goes out with the batch's first reads and is
 * awaited before anything is written; a chunk judged across a reconnect checks again, since the
 * server may have come back empty.
 */
class StateGuard {
  private first: Promise<boolean> | null;
  private epoch: number;

  constructor(private readonly ctx: BatchContext) {
    this.first = ctx.judge.store.stateIntact();
    this.epoch = ctx.redisEpoch?.() ?? 0;
  }

  /** The batch's first check, awaited once. */
  async checked(): Promise<boolean> {
    if (!this.first) return true;
    const intact = await this.first;
    this.first = null;
    return intact;
  }

  /** After judging a chunk: the state is still there, checked again if Redis reconnected meanwhile. */
  async intactSinceJudged(): Promise<boolean> {
    const epoch = this.ctx.redisEpoch?.();
    if (epoch === undefined || epoch === this.epoch) return true;
    this.epoch = epoch;
    return this.ctx.judge.store.stateIntact();
  }
}

function reportHandled(ctx: BatchContext, { payload: { batch }, started, last }: PreparedBatch): void {
  const { topic, partition } = batch;
  ctx.events.emit({ type: 'batch.handled', topic, partition, seconds: (performance.now() - started) / 1000 });
  if (last === null) return;
  ctx.events.emit({
    type: 'partition.handled',
    topic,
    partition,
    next: BigInt(last.offset) + 1n,
    high: BigInt(batch.highWatermark),
    lastTimestamp: Number(last.timestamp),
  });
}

/** Returns the promise, marked as handled: it is awaited later, or not at all when the batch stops early. */
function settleQuietly<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}
