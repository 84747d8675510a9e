/**
 * One chunk of a batch judged: its records' stamps, (for messages) the membership frontier and
 * the senders read, planned (pure), its facts applied and marked, past the event-time frontier,
 * its lanes run, and the results put back in record order.
 */
import type { EachBatchPayload, KafkaMessage } from 'kafkajs';
import { prepareChunk } from '../../judge/chunk.js';
import { canBegin, judgedPast } from '../../judge/reconcile.js';
import type { ChunkResult } from './chunk-result.js';
import { collectInOrder } from './chunk-result.js';
import type { BatchContext, FrontierAsk } from './context.js';
import type { DecodedChunk } from './decode-chunk.js';
import { applyPlanned, chunkStamps, markChunkApplied } from './apply-facts.js';
import type { ChunkHooks } from './judge-record.js';
import { judgeRecord } from './judge-record.js';
import { planLanes } from './lane-plan.js';
import { doneThrough } from './flush.js';
import { runLanes } from './run-lanes.js';
import { readSenders } from './senders.js';

/** A chunk's records. */
export interface ChunkInputs {
  /** Batch index of the chunk's first record. */
  from: number;
  /** The chunk's records. */
  messages: readonly KafkaMessage[];
  decoded: DecodedChunk;
  /** The partition's applied mark (next offset) before this chunk's facts were applied. */
  appliedBefore: bigint;
  /** The marks the chunk's records' lateness is judged by, by the offsets they hold from (in offset order). */
  lateness: readonly LatenessFrom[];
  /** When the batch was fetched (ms; FrontierAsk.fetchedAt). */
  fetchedAt: number;
}

/** Runs `fn` exclusive of the partition's other critical sections (BatchContext.exclusive), or just runs it. */
export function exclusive<T>(
  ctx: Pick<BatchContext, 'exclusive'>,
  own: { topic: string; partition: number },
  fn: () => Promise<T>,
): Promise<T> {
  return ctx.exclusive ? ctx.exclusive(own.topic, own.partition, fn) : fn();
}

/** True once the batch is to be given up: shutting down, or its partition revoked. */
export const batchStopped = (payload: EachBatchPayload): boolean => !payload.isRunning() || payload.isStale();

/**
 * The marks as they were before a record's facts were first applied: the latest moment judging
 * had passed, and the partition's applied mark. A record at or beyond that mark, earlier than
 * that moment, is late. (A late record fetched again after a give-up is below the mark by then,
 * and judged as on time: the limit PARTITIONING.md states for late records.)
 */
export interface Lateness {
  judgedBefore: number;
  appliedBefore: bigint;
}

/**
 * A batch's lateness marks and its first offset: batches queued behind one another are judged
 * together (monitor/judging-queues.ts), each record by the marks read before its own batch's facts.
 */
export type LatenessFrom = Lateness & { fromOffset: bigint };

/** The marks that hold for the record at `offset`: those of the last batch starting at or before it. */
export function latenessAt(segments: readonly LatenessFrom[], offset: bigint): Lateness {
  let found = segments[0]!;
  for (const s of segments) {
    if (s.fromOffset > offset) break;
    found = s;
  }
  return found;
}

/** How a chunk ended: judged (all of it, or its first `to - from` records), abandoned (null), or given up to be tried again. */
export type ChunkOutcome = { judged: ChunkResult; to: number } | null | 'yielded';

/**
 * Judges a chunk, or the first records of it that the event-time frontier is past; null when it
 * was abandoned (shutdown, partition revoked), `yielded` when the frontier did not reach even its
 * first record in time (the batch is tried again: FRONTIER_YIELD_MS).
 *
 * The chunk's facts are applied and marked before any wait, all of them, so that the consumers
 * waiting for them go on; judging then goes as far as the frontier is. The batch goes on with the
 * rest as its next chunk, whose facts are in already.
 */
export async function judgeChunk(
  ctx: BatchContext,
  payload: EachBatchPayload,
  inputs: ChunkInputs,
  hooks: Omit<ChunkHooks, 'view' | 'lateBy'>,
): Promise<ChunkOutcome> {
  const { topic, partition } = payload.batch;
  let { decoded, messages } = inputs;
  const { from } = inputs;
  const stream = decoded.source === 'control' ? 'membership' : decoded.source;
  let stamps = decoded.source === 'control' ? [] : chunkStamps(decoded.records, messages, partition);
  const own = { topic, partition };
  /**
   * How many records of the chunk the frontier is past on `facts`, waiting (bounded) for the
   * first: of the records `awaited` (all by default), the records up to the first not past.
   */
  const reach = async (facts: FrontierAsk['facts'], awaited = stamps): Promise<number | 'yielded' | null> => {
    if (awaited.length === 0) return messages.length;
    let past = await ctx.frontierReach(
      { facts, own, fetchedAt: inputs.fetchedAt },
      awaited.map((s) => s.stamp),
    );
    if (past === 0) {
      const waited = await ctx.frontier({
        facts,
        stream,
        own,
        fetchedAt: inputs.fetchedAt,
        through: awaited[0]!.stamp,
        heartbeat: payload.heartbeat,
        stopped: () => batchStopped(payload),
      });
      if (!waited.passed) return waited.why === 'yielded' ? 'yielded' : null;
      past = await ctx.frontierReach(
        { facts, own, fetchedAt: inputs.fetchedAt },
        awaited.map((s) => s.stamp),
      );
    }
    // Past the first record at least, once its wait passed: watermarks read since (by a later
    // batch's wait) may be newer and hold records applied after the wait.
    past = Math.max(past, 1);
    return past < awaited.length ? awaited[past]!.index : messages.length;
  };
  const cut = (n: number) => {
    if (n >= messages.length) return;
    messages = messages.slice(0, n);
    decoded = { ...decoded, records: decoded.records.slice(0, n) } as DecodedChunk;
    stamps = stamps.filter((s) => s.index < n);
  };
  let senders = null;
  if (decoded.source === 'messages') {
    // Whether a sender was a member as of the message is known once the membership before it is:
    // the chunk goes on with the messages that far, so that the membership consumer, waiting for
    // these messages' facts, is not kept waiting (frontier.ts). And before waiting, the partition
    // says it holds nothing earlier than its first message (its next record, in time order): the
    // membership before that message may be waiting for this very partition to be past it, which
    // with its facts unapplied it would never be (a circle, on a backlog of more membership
    // records than a chunk between two messages).
    if (stamps.length > 0)
      await markChunkApplied(ctx.judge.store, payload.batch, String(BigInt(messages[0]!.offset) - 1n), [
        stamps[0]!.stamp,
      ]);
    const ready = await reach('membership');
    if (typeof ready !== 'number') return ready;
    cut(ready);
    senders = await readSenders(ctx.judge.store, decoded.records, from);
  }
  const plan = planLanes({ topic, partition, from, messages, decoded, senders });
  // Facts first, marked applied, then the wait: a consumer never waits for another's judging.
  // An approvals or membership chunk's are in already (apply-batch.ts), and so are those of a
  // chunk fetched or continued again after it was judged in part.
  await applyPlanned(
    ctx.judge.store,
    payload.batch,
    plan,
    stamps.map((s) => s.stamp),
    {
      appliedBefore: inputs.appliedBefore,
      through: decoded.source === 'control' ? null : doneThrough(payload.batch, from + messages.length),
    },
  );
  // A member's message (no task: lane-plan.ts) waits for nothing more: as of its moment the sender
  // is a member in the membership the frontier is past, which records not applied yet can only
  // add to (a message joins its sender; a removal before it would be membership, applied). It
  // changes no fact and begins nothing, so the other topics' facts cannot change its judgement,
  // and it does not raise the judged mark. Only the records with a task wait for every input topic.
  const judged = stamps.filter((s) => plan.tasks.has(from + s.index));
  const ready = await reach('inputs', judged);
  if (typeof ready !== 'number') return ready;
  const judgedPlan =
    ready < messages.length ? (cut(ready), planLanes({ topic, partition, from, messages, decoded, senders })) : plan;
  // Strictly earlier than the moment judging had passed: a record of that same millisecond may be
  // later than what was judged in event time (its rank, partition, offset), and is judged in turn.
  const lateBy = (at: number, offset: number) => {
    const lateness = latenessAt(inputs.lateness, BigInt(offset));
    return at < lateness.judgedBefore && BigInt(offset) >= lateness.appliedBefore ? lateness.judgedBefore : undefined;
  };
  // A late record is judged as of the moment judging had passed too (judge/reconcile.ts): once
  // every fact up to that moment is in state, or it would lack the facts of records still on
  // their way, and alert a pairing they end.
  let late = Number.NEGATIVE_INFINITY;
  for (const t of judgedPlan.tasks.values()) {
    if (t.kind !== 'input' || !canBegin(t.trigger.event.type)) continue;
    late = Math.max(late, lateBy(t.trigger.at, t.trigger.ref.offset) ?? late);
  }
  if (late > Number.NEGATIVE_INFINITY) {
    const waited = await ctx.frontier({
      facts: 'inputs',
      stream,
      own,
      fetchedAt: inputs.fetchedAt,
      through: judgedPast(late),
      heartbeat: payload.heartbeat,
      stopped: () => batchStopped(payload),
    });
    if (!waited.passed) return waited.why === 'yielded' ? 'yielded' : null;
  }
  // Raised before the facts are read: a record applied after this, and earlier than the records
  // judged now, knows it may be late (judge/reconcile.ts). Only this wait, on every input topic, says so.
  // Exclusive of the partition's next batch's facts being applied ahead (context.ts, `exclusive`):
  // the frontier does not wait for this partition's own later records, so they must read the
  // mark before or after this chunk's reads, never in between.
  const marked = judged.filter((s) => s.index < messages.length);
  const judgedAt = marked.reduce((latest, s) => Math.max(latest, s.stamp[0]), Number.NEGATIVE_INFINITY);
  const results = await exclusive(ctx, own, async () => {
    if (marked.length > 0) await ctx.judge.store.markJudged(judgedAt);
    // Read after the wait: what judging reads must hold every fact the frontier is past.
    const view =
      judgedPlan.membership.length > 0
        ? await prepareChunk(ctx.judge.store, judgedPlan.membership, { written: true })
        : undefined;
    for (const event of judgedPlan.events) ctx.events.emit(event);
    return runLanes(
      judgedPlan.lanes.values(),
      (index) => judgeRecord(ctx, judgedPlan.tasks.get(index)!, { ...hooks, view, lateBy }),
      () => batchStopped(payload),
    );
  });
  return (
    results && {
      judged: collectInOrder(results, judgedPlan.deadLetters, judgedPlan.counts),
      to: from + messages.length,
    }
  );
}
