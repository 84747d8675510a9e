/**
 * One kafkajs batch, end to end: decode each record, judge it, write the outputs, then mark the
 * records done (applied mark for approvals, offset resolved for commit). Offsets move only after
 * the effects are durable, so a crash replays records rather than losing them; replays are
 * harmless because state updates are merges and alert ids are deterministic.
 */
import { performance } from 'node:perf_hooks';
import type { Batch, EachBatchPayload, KafkaMessage } from 'kafkajs';
import pLimit from 'p-limit';
import type { Config } from '../config.js';
import type { ClockSkew, DecodeLimits, Decoded, RecordClock } from '../events/decode.js';
import { decodeControl, decodeInput } from '../events/decode.js';
import type { ChatUnfrozen, FreezeBreakerReset, InputEvent, MembershipEvent, Stream } from '../events/schema.js';
import type { ChunkRecord } from '../judge/chunk.js';
import { prepareChunk } from '../judge/chunk.js';
import type { JudgeDeps, JudgeHooks, Output, Trigger } from '../judge/judge.js';
import { applyWithheldFreeze, judgeEvent, judgeUnfreeze, messageStanding } from '../judge/judge.js';
import type { Logger } from '../observability/logger.js';
import { OncePerKey } from '../observability/once-per-key.js';
import type { SenderState, StateStore } from '../state/store.js';
import type { EventOutcome, Metrics } from '../observability/metrics.js';
import { deadLetterOf } from './dead-letter.js';
import type { DeadLetterOut, Publisher } from './publisher.js';

/** Records judged between two flushes: bounds the work a crash replays and the outputs held in memory. */
const FLUSH_EVERY = 500;

/** Lanes of one chunk judged at once (see judgeChunk). */
const LANES_IN_FLIGHT = 64;

export interface BatchContext {
  config: Config;
  judge: JudgeDeps;
  publisher: Publisher;
  metrics: Metrics;
  logger: Logger;
  limits: DecodeLimits;
  /** Called when the state in Redis is found gone; the batch is left unprocessed and uncommitted. */
  onStateLost: () => void;
  /** Counts Redis (re)connections; a batch spanning one re-checks the state before writing. */
  redisEpoch?: () => number;
  /** The records of a partition before `nextOffset` are judged and their outputs written: committable. */
  done: (topic: string, partition: number, nextOffset: string) => void;
  /**
   * Waits until the records a stream depends on are in state (membership: approvals; messages:
   * approvals and membership); false when shutting down.
   */
  dependenciesApplied: (stream: 'membership' | 'messages', heartbeat: () => Promise<void>) => Promise<boolean>;
}

type Source = Stream | 'control';

function sourceOf(config: Config, topic: string): Source | null {
  const t = config.topics;
  if (topic === t.approvals) return 'approvals';
  if (topic === t.membership) return 'membership';
  if (topic === t.messages) return 'messages';
  if (topic === t.control) return 'control';
  return null;
}

export async function handleBatch(ctx: BatchContext, payload: EachBatchPayload): Promise<void> {
  const { batch } = payload;
  const source = sourceOf(ctx.config, batch.topic);
  if (!source) throw new Error(`received a batch from unexpected topic ${batch.topic}`);
  const started = performance.now();
  const unsent = new Set<string>();
  // Each barrier is passed at most once per batch: the records on the topics it waits for at that
  // moment are applied, which is what "on its topic by the time the event is judged" asks.
  let caughtUp: Promise<boolean> | null = null;
  const catchUp = (stream: 'membership' | 'messages') =>
    (caughtUp ??= ctx.dependenciesApplied(stream, payload.heartbeat));

  // Judging against a Redis that lost its state would be judging blind (every approval
  // forgotten: a false freeze for every chat), so the batch is checked first and left
  // uncommitted if the state is gone. The check, the membership barrier and the first chunk's
  // reads are all reads: they go out together, and nothing is written before the check.
  let intact: Promise<boolean> | null = ctx.judge.store.stateIntact();
  let epoch = ctx.redisEpoch?.() ?? 0;
  if (source === 'membership') settleQuietly(catchUp('membership'));

  let last: KafkaMessage | null = null;
  for (let from = 0; from < batch.messages.length; from += FLUSH_EVERY) {
    if (!payload.isRunning() || payload.isStale()) break;
    const chunk = { from, to: Math.min(batch.messages.length, from + FLUSH_EVERY) };
    // Decoded a chunk at a time, so what a chunk allocates dies young.
    const decoded =
      source === 'control'
        ? null
        : batch.messages
            .slice(chunk.from, chunk.to)
            .map((m) => decodeInput(source, m.value, ctx.limits, clockOf(ctx, m)));
    // Messages are most of the traffic, and most come from members of chats that are not
    // frozen: every sender's state in the chunk is read in one round trip.
    const senders = source === 'messages' && decoded ? settleQuietly(prefetchSenders(ctx, decoded, chunk.from)) : null;
    if (intact) {
      if (!(await intact)) {
        ctx.onStateLost();
        return;
      }
      intact = null;
    }
    const judged = await judgeChunk(ctx, payload, source, chunk, { decoded, senders: await senders, unsent, catchUp });
    // Redis reconnected while this batch was judged: it may have come back empty, and what was
    // just judged read it. Nothing is written until the state is known to be there.
    if (judged !== null && ctx.redisEpoch && ctx.redisEpoch() !== epoch) {
      epoch = ctx.redisEpoch();
      if (!(await ctx.judge.store.stateIntact())) {
        ctx.onStateLost();
        return;
      }
    }
    // An abandoned chunk (shutting down, partition revoked) is neither written nor committed: it
    // is judged again by whoever consumes it next, and decisions it already recorded are
    // recognised then as unsent and sent.
    if (judged === null) break;
    last = batch.messages[chunk.to - 1]!;
    // The batch's last chunk is done through the batch's last offset, which may be a transaction
    // marker or an aborted record after the last record judged: they carry no facts, and the
    // read-committed end the barrier compares with counts them (see handleFilteredBatch).
    const through = chunk.to === batch.messages.length ? maxOffset(last.offset, batch.lastOffset()) : last.offset;
    await flush(ctx, payload, source, judged, through);
    unsent.clear();
  }
  ctx.metrics.batchDuration.observe({ topic: batch.topic }, (performance.now() - started) / 1000);
  if (last !== null) {
    ctx.metrics.lag.handled(
      batch.topic,
      batch.partition,
      BigInt(last.offset) + 1n,
      BigInt(batch.highWatermark),
      Number(last.timestamp),
    );
  }
}

const maxOffset = (a: string, b: string): string => (BigInt(a) >= BigInt(b) ? a : b);

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
  const source = sourceOf(ctx.config, topic);
  const next = (BigInt(lastOffset) + 1n).toString();
  if (source === 'approvals' || source === 'membership')
    await ctx.judge.store.markApplied(topic, new Map([[partition, next]]));
  ctx.done(topic, partition, next);
}

/** What judging a chunk of records produced, in record order. */
interface ChunkResult {
  outputs: Output[];
  deadLetters: DeadLetterOut[];
  /** Events by `type\0outcome`, added to the metric once per flush. */
  counts: Map<string, number>;
}

/** The outcome of one record judged in a lane. */
interface RecordResult {
  outputs: Output[];
  type: string;
  outcome: EventOutcome;
}

interface ChunkInputs {
  /** The chunk's records decoded, from its first (null for the control topic). */
  decoded: ReadonlyArray<Decoded<InputEvent>> | null;
  senders: ReadonlyMap<number, SenderState> | null;
  unsent: Set<string>;
  catchUp: (stream: 'membership' | 'messages') => Promise<boolean>;
}

/**
 * Judges records [from, to) of a batch. The records that need the judge are put in lanes by the
 * id they are about (a chat, or a child for approvals): a lane is judged in record order, lanes
 * concurrently. Two lanes are two chats or two users, which pairguard already judges concurrently
 * when they sit on different partitions (facts written before they are read, decisions
 * compare-and-set), so this changes no answer; it lets the Redis client send many lanes'
 * commands in one write. Returns null when the chunk was abandoned.
 */
async function judgeChunk(
  ctx: BatchContext,
  payload: EachBatchPayload,
  source: Source,
  chunk: { from: number; to: number },
  inputs: ChunkInputs,
): Promise<ChunkResult | null> {
  const { batch } = payload;
  const counts = new Map<string, number>();
  const tally = (type: string, outcome: EventOutcome) => {
    const key = `${type}\u0000${outcome}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  };
  const deadLetters: DeadLetterOut[] = [];
  // Lane → indices of its records, in order; the judging of each record, by index.
  const lanes = new Map<string, number[]>();
  const judges = new Map<number, () => Promise<RecordResult>>();
  // Membership records are prepared together before any is judged (judge/chunk.ts).
  const membership: ChunkRecord[] = [];
  let view: StateStore | undefined;
  const enqueue = (lane: string, index: number, judge: () => Promise<RecordResult>) => {
    const queue = lanes.get(lane);
    if (queue) queue.push(index);
    else lanes.set(lane, [index]);
    judges.set(index, judge);
  };

  for (let index = chunk.from; index < chunk.to; index++) {
    const message = batch.messages[index]!;
    const dead = (reason: string, detail: string) => {
      deadLetters.push(deadLetterFor(ctx, batch, message, source, reason, detail));
      tally('unknown', 'dead-lettered');
    };
    if (source === 'control') {
      const decoded = decodeControl(message.value, ctx.limits, clockOf(ctx, message));
      if (decoded?.ok && decoded.skew) clockSkewed(ctx, batch, message, decoded.skew);
      if (decoded === null) tally('other', 'ignored');
      else if (!decoded.ok) dead(decoded.reason, decoded.detail);
      else if (decoded.event.type === 'freeze-breaker.reset') {
        const reset = decoded.event;
        enqueue('freeze-breaker', index, () => resetBreaker(ctx, reset));
      } else {
        const unfrozen = decoded.event;
        enqueue(unfrozen.chatId, index, () => judgeControl(ctx, unfrozen, decoded.at, inputs.unsent));
      }
      continue;
    }
    const decoded = inputs.decoded![index - chunk.from]!;
    if (!decoded.ok) {
      dead(decoded.reason, decoded.detail);
      continue;
    }
    if (decoded.skew) clockSkewed(ctx, batch, message, decoded.skew);
    const sender = inputs.senders?.get(index);
    const standing = sender ? messageStanding(sender, decoded.at) : null;
    if (standing?.member) {
      // The common case, without the judge: a member's message can pair nobody new.
      if (standing.afterFreeze) ctx.metrics.messagesAfterFreeze.inc();
      tally(decoded.event.type, 'applied');
      continue;
    }
    const trigger: Trigger = {
      event: decoded.event,
      at: decoded.at,
      ref: {
        eventId: decoded.event.eventId,
        type: decoded.event.type,
        topic: batch.topic,
        partition: batch.partition,
        offset: Number(message.offset),
      },
    };
    if (source === 'membership') membership.push({ event: decoded.event as MembershipEvent, at: decoded.at });
    enqueue(laneOf(decoded.event), index, async () => {
      const hooks: JudgeHooks =
        source === 'messages'
          ? { catchUp: () => inputs.catchUp('messages'), pending: inputs.unsent, sender }
          : { pending: inputs.unsent, view };
      const judgement = await judgeEvent(ctx.judge, trigger, hooks);
      for (const o of judgement.outputs) inputs.unsent.add(o.record.alertId);
      if (judgement.messageAfterFreeze) ctx.metrics.messagesAfterFreeze.inc();
      if (judgement.freezesWithheld > 0)
        freezesWithheld(ctx, judgement.freezesWithheld, judgement.breakerTripped === true);
      const isViolation = judgement.outputs.some((o) => o.kind === 'alert' && !o.recovered);
      return { outputs: judgement.outputs, type: decoded.event.type, outcome: isViolation ? 'violation' : 'applied' };
    });
  }

  if (source === 'membership' && judges.size > 0 && !(await inputs.catchUp('membership'))) return null;
  if (membership.length > 0) view = await prepareChunk(ctx.judge.store, membership);

  // The limit is per chunk, never shared between batches: a lane of messages waiting at its
  // barrier must not hold a slot that the approvals it waits for need.
  const inFlight = pLimit(LANES_IN_FLIGHT);
  const results = new Map<number, RecordResult>();
  let abandoned = false;
  const settled = await Promise.allSettled(
    [...lanes.values()].map((queue) =>
      inFlight(async () => {
        for (const index of queue) {
          if (abandoned || !payload.isRunning() || payload.isStale()) {
            abandoned = true;
            return;
          }
          try {
            results.set(index, await judges.get(index)!());
          } catch (err) {
            abandoned = true;
            throw err;
          }
        }
      }),
    ),
  );
  // Every lane has stopped before the batch fails, so a retried batch never races its own lanes.
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  if (abandoned) return null;

  const outputs: Output[] = [];
  for (const index of [...results.keys()].sort((a, b) => a - b)) {
    const r = results.get(index)!;
    outputs.push(...r.outputs);
    tally(r.type, r.outcome);
  }
  return { outputs, deadLetters, counts };
}

/** Records about the same chat (or, for approvals, the same child) are judged in order. */
function laneOf(e: InputEvent): string {
  switch (e.type) {
    case 'user.registered':
      return `u:${e.userId}`;
    case 'contact.approved':
    case 'contact.revoked':
      return `u:${e.childId}`;
    default:
      return `c:${e.chatId}`;
  }
}

/** Writes a chunk's outputs, then marks its records done: applied (for the barrier) and committable. */
async function flush(
  ctx: BatchContext,
  payload: EachBatchPayload,
  source: Source,
  judged: ChunkResult,
  through: string,
): Promise<void> {
  const { batch } = payload;
  await ctx.publisher.publish(judged.outputs, judged.deadLetters);
  recordOutputs(ctx, judged.outputs);
  const next = (BigInt(through) + 1n).toString();
  if (source === 'approvals' || source === 'membership') {
    await ctx.judge.store.markApplied(batch.topic, new Map([[batch.partition, next]]));
  }
  // Resolved, the partition is fetched from the next record on; the commit comes later (monitor.ts).
  payload.resolveOffset(through);
  ctx.done(batch.topic, batch.partition, next);
  await payload.heartbeat();
  for (const [key, n] of judged.counts) {
    const [type, outcome] = key.split('\u0000') as [string, EventOutcome];
    ctx.metrics.events.inc({ topic: batch.topic, type, outcome }, n);
  }
}

function freezesWithheld(ctx: BatchContext, withheld: number, tripped: boolean) {
  ctx.metrics.freezesWithheld.inc(withheld);
  ctx.metrics.freezeBudgetExhausted.set(1);
  const fields = { withheld, budget: ctx.config.freezeBudget, windowSeconds: ctx.config.freezeBudgetWindowSeconds };
  if (tripped)
    ctx.logger.error(
      fields,
      'freeze breaker tripped: too many chats frozen in its window; alerting without freezing until a person resets it (pairguard breaker reset)',
    );
  else ctx.logger.warn(fields, 'freeze breaker open: alerting without freezing');
}

/** A person reset the freeze breaker: freezes resume, and the withheld ones that still stand are applied. */
async function resetBreaker(ctx: BatchContext, event: FreezeBreakerReset): Promise<RecordResult> {
  const breaker = ctx.judge.breaker;
  if (!breaker) return { outputs: [], type: event.type, outcome: 'ignored' };
  const withheld = await breaker.reset(ctx.judge.now());
  ctx.metrics.freezeBudgetExhausted.set(0);
  const outputs: Output[] = [];
  let stillWithheld = 0;
  let tripped = false;
  for (const w of withheld) {
    const r = await applyWithheldFreeze(ctx.judge, w);
    outputs.push(...r.outputs);
    if (r.withheld) stillWithheld++;
    tripped ||= r.tripped;
  }
  ctx.logger.warn(
    { by: event.by, withheld: withheld.length, applied: outputs.length },
    'freeze breaker reset: automatic freezes resume',
  );
  if (stillWithheld > 0) freezesWithheld(ctx, stillWithheld, tripped);
  return { outputs, type: event.type, outcome: 'applied' };
}

/** Returns the promise, marked as handled: it is awaited later, or not at all when the batch stops early. */
function settleQuietly<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

const clockOf = (ctx: BatchContext, m: KafkaMessage): RecordClock => ({
  timestamp: Number(m.timestamp),
  maxSkewMs: ctx.config.maxClockSkewSeconds * 1000,
});

/** Keys whose clock skew was logged, per monitor: a broken producer clock is logged once per key, not per record. */
const skewLogged = new WeakMap<BatchContext, OncePerKey>();
const SKEW_KEYS_REMEMBERED = 10_000;

/** Counts an event dated beyond the skew bound; one ahead (judged as of its record's timestamp) is logged once per record key. */
function clockSkewed(ctx: BatchContext, batch: Batch, message: KafkaMessage, direction: ClockSkew) {
  ctx.metrics.clockSkew.inc({ topic: batch.topic, direction });
  if (direction !== 'future') return;
  let logged = skewLogged.get(ctx);
  if (!logged) skewLogged.set(ctx, (logged = new OncePerKey(SKEW_KEYS_REMEMBERED)));
  // Keys cut to an id's length: the set is bounded in bytes as well as in keys.
  if (!logged.first(`${batch.topic}\u0000${message.key?.toString('utf8', 0, 1024) ?? ''}`)) return;
  ctx.logger.warn(
    {
      topic: batch.topic,
      partition: batch.partition,
      offset: message.offset,
      recordTimestamp: Number(message.timestamp),
      maxClockSkewSeconds: ctx.config.maxClockSkewSeconds,
    },
    "event dated ahead of its record's Kafka timestamp by more than PAIRGUARD_MAX_CLOCK_SKEW: judged as of the record timestamp (logged once per record key)",
  );
}

function deadLetterFor(
  ctx: BatchContext,
  batch: Batch,
  message: KafkaMessage,
  source: Source,
  reason: string,
  detail: string,
): DeadLetterOut {
  ctx.metrics.deadLetters.inc({ topic: batch.topic, reason });
  ctx.logger.warn(
    { topic: batch.topic, partition: batch.partition, offset: message.offset, reason },
    'malformed record sent to the dead-letter topic',
  );
  return {
    key: message.key,
    record: deadLetterOf(
      {
        topic: batch.topic,
        partition: batch.partition,
        offset: message.offset,
        key: message.key,
        value: message.value,
      },
      `${reason}: ${detail}`,
    ),
  };
}

/** The senders' states of a chunk's messages, by the messages' indices in the batch. */
async function prefetchSenders(
  ctx: BatchContext,
  decoded: ReadonlyArray<Decoded<InputEvent>>,
  from: number,
): Promise<Map<number, SenderState>> {
  const wanted: Array<{ index: number; chatId: string; userId: string }> = [];
  decoded.forEach((d, i) => {
    if (d.ok && d.event.type === 'message.sent')
      wanted.push({ index: from + i, chatId: d.event.chatId, userId: d.event.senderId });
  });
  const states = await ctx.judge.store.readSenders(wanted);
  return new Map(wanted.map((w, i) => [w.index, states[i]!]));
}

async function judgeControl(
  ctx: BatchContext,
  event: ChatUnfrozen,
  at: number,
  pending: ReadonlySet<string>,
): Promise<RecordResult> {
  const judged = await judgeUnfreeze(ctx.judge, event, at, pending);
  if (judged.unfrozen) ctx.logger.info({ chatId: event.chatId, by: event.by }, 'chat unfrozen by reviewer');
  if (judged.freezesWithheld > 0) freezesWithheld(ctx, judged.freezesWithheld, judged.breakerTripped === true);
  return { outputs: judged.outputs, type: event.type, outcome: judged.unfrozen ? 'applied' : 'ignored' };
}

function recordOutputs(ctx: BatchContext, outputs: readonly Output[]) {
  const now = ctx.judge.now();
  for (const o of outputs) {
    if (o.kind === 'alert') {
      const r = o.record;
      ctx.logger.info(
        {
          alertId: r.alertId,
          chatId: r.chatId,
          pair: r.pair,
          missing: r.missing,
          trigger: r.trigger,
          action: r.action,
          recovered: o.recovered ?? false,
        },
        'unapproved pairing',
      );
      if (o.recovered) continue;
      ctx.metrics.violations.inc({ trigger: r.trigger.type });
      ctx.metrics.detectionLatency.observe(Math.max(0, now - Date.parse(r.occurredAt)) / 1000);
    } else {
      ctx.logger.info(
        { alertId: o.record.alertId, chatId: o.chatId, recovered: o.recovered ?? false },
        'chat freeze requested',
      );
      if (!o.recovered) ctx.metrics.freezes.inc();
    }
  }
}
