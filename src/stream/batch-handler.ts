/**
 * One kafkajs batch, end to end, as a composition of the steps in batch/: a chunk of records at a
 * time is decoded, planned into lanes, judged lane by lane, collected in record order and
 * flushed (outputs written, then records marked done). Offsets move only after the effects are
 * durable, so a crash replays records rather than losing them; replays are harmless because
 * state updates are merges and alert ids are deterministic.
 */
import { performance } from 'node:perf_hooks';
import type { Batch, EachBatchPayload, KafkaMessage } from 'kafkajs';
import type { BatchContext } from './batch/context.js';
import type { Source } from './batch/decode-chunk.js';
import { decodeChunk, sourceOf } from './batch/decode-chunk.js';
import { doneThrough, flushChunk, markApplied } from './batch/flush.js';
import type { ChunkOutcome, Lateness } from './batch/judge-chunk.js';
import { batchStopped, judgeChunk } from './batch/judge-chunk.js';
import { applyBatchFacts } from './batch/apply-batch.js';
import type { ChunkHooks } from './batch/judge-record.js';

export type { BatchContext };

/** Records judged between two flushes: bounds the work a crash replays and the outputs held in memory. */
export const FLUSH_EVERY = 500;

export async function handleBatch(ctx: BatchContext, payload: EachBatchPayload): Promise<void> {
  const { batch } = payload;
  const source = sourceOf(ctx.config.topics, batch.topic);
  if (!source) throw new Error(`received a batch from unexpected topic ${batch.topic}`);
  const started = performance.now();
  const fetchedAt = Date.now();
  const state = new StateGuard(ctx);
  const hooks = batchHooks();
  let last: KafkaMessage | null = null;
  // What a record's lateness is judged by (judge-chunk.ts): the marks as they were before its
  // facts were first applied, so for a batch whose facts are applied ahead, before that.
  let lateness: Lateness | undefined;
  if (source === 'approvals' || source === 'membership') {
    if (!(await state.checked())) {
      ctx.onStateLost();
      return;
    }
    const [judgedBefore, applied] = await Promise.all([
      ctx.judge.store.judgedThrough(),
      ctx.judge.store.appliedPositions(batch.topic),
    ]);
    lateness = { judgedBefore, appliedBefore: applied.get(batch.partition)?.next ?? 0n };
    await applyBatchFacts(ctx, payload, source, lateness.appliedBefore, FLUSH_EVERY);
  }
  for (let from = 0; from < batch.messages.length;) {
    if (batchStopped(payload)) break;
    const to = Math.min(batch.messages.length, from + FLUSH_EVERY);
    const judged = await judgeGuarded(ctx, payload, source, { from, to, fetchedAt, lateness }, hooks, state);
    if (judged === 'state-lost') {
      ctx.onStateLost();
      return;
    }
    // An abandoned chunk (shutting down, partition revoked, or the frontier not reached in time)
    // is neither written nor committed: it is judged again by whoever consumes it next, and
    // decisions it already recorded are recognised then as unsent and sent.
    if (judged === null || judged === 'yielded') break;
    last = batch.messages[judged.to - 1]!;
    await flushChunk(ctx, payload, source, judged.judged, doneThrough(batch, judged.to));
    hooks.unsent.clear();
    from = judged.to;
  }
  reportHandled(ctx, batch, started, last);
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

/** What every chunk of the batch shares: its unsent decisions. */
function batchHooks(): Omit<ChunkHooks, 'view' | 'lateBy'> {
  return { unsent: new Set() };
}

/** Decodes and judges records [from, to), writing nothing unless the state in Redis is known to be there. */
async function judgeGuarded(
  ctx: BatchContext,
  payload: EachBatchPayload,
  source: Source,
  { from, to, fetchedAt, lateness }: { from: number; to: number; fetchedAt: number; lateness?: Lateness },
  hooks: Omit<ChunkHooks, 'view' | 'lateBy'>,
  state: StateGuard,
): Promise<ChunkOutcome | 'state-lost'> {
  const messages = payload.batch.messages.slice(from, to);
  const decoded = decodeChunk(source, messages, ctx.limits, ctx.config.maxClockSkewSeconds);
  // Read before the chunk's facts are applied: a judge past it since may have judged without them.
  // (Read before the batch's facts were applied ahead, for approvals and membership: `lateness`.)
  const judgedBefore = lateness ? null : settleQuietly(ctx.judge.store.judgedThrough());
  const appliedBefore = settleQuietly(ctx.judge.store.appliedPositions(payload.batch.topic));
  if (!(await state.checked())) return 'state-lost';
  const applied = (await appliedBefore).get(payload.batch.partition)?.next ?? 0n;
  const before = {
    appliedBefore: applied,
    lateness: lateness ?? {
      judgedBefore: await (judgedBefore ?? ctx.judge.store.judgedThrough()),
      appliedBefore: applied,
    },
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

function reportHandled(ctx: BatchContext, batch: Batch, started: number, last: KafkaMessage | null): void {
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
