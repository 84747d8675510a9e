/**
 * One kafkajs batch, end to end: decode each record, judge it, write the outputs, then mark the
 * records done (applied mark for approvals, offset resolved for commit). Offsets move only after
 * the effects are durable, so a crash replays records rather than losing them; replays are
 * harmless because state updates are merges and alert ids are deterministic.
 */
import { performance } from 'node:perf_hooks';
import type { Batch, EachBatchPayload, KafkaMessage } from 'kafkajs';
import type { Config } from '../config.js';
import type { DecodeLimits, Decoded } from '../events/decode.js';
import { decodeControl, decodeInput } from '../events/decode.js';
import type { InputEvent, Stream } from '../events/schema.js';
import type { JudgeDeps, Output } from '../judge/judge.js';
import { judgeEvent, judgeUnfreeze, messageStanding } from '../judge/judge.js';
import type { Logger } from '../observability/logger.js';
import type { SenderState } from '../state/store.js';
import type { EventOutcome, Metrics } from '../observability/metrics.js';
import { deadLetterOf } from './dead-letter.js';
import type { DeadLetterOut, Publisher } from './publisher.js';

/** Records judged between two flushes: bounds the work a crash replays and the outputs held in memory. */
const FLUSH_EVERY = 500;

export interface BatchContext {
  config: Config;
  judge: JudgeDeps;
  publisher: Publisher;
  metrics: Metrics;
  logger: Logger;
  limits: DecodeLimits;
  /** Called when the state in Redis is found gone; the batch is left unprocessed and uncommitted. */
  onStateLost: () => void;
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
  // Judging against a Redis that lost its state would be judging blind (every approval
  // forgotten: a false freeze for every chat). Leave the batch uncommitted and stop instead.
  if (!(await ctx.judge.store.stateIntact())) {
    ctx.onStateLost();
    return;
  }

  const started = performance.now();
  let outputs: Output[] = [];
  const unsent = new Set<string>();
  // Event counts are added to the metric once per flush, not once per event.
  const counts = new Map<string, number>();
  const tally = (type: string, outcome: EventOutcome) => {
    const key = `${type}\u0000${outcome}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  };
  let deadLetters: DeadLetterOut[] = [];
  let last: KafkaMessage | null = null;
  let pending = 0;
  // Each barrier is passed at most once per batch: the records on the topics it waits for at that
  // moment are applied, which is what "on its topic by the time the event is judged" asks.
  let caughtUp: Promise<boolean> | null = null;
  const catchUp = (stream: 'membership' | 'messages') => (caughtUp ??= ctx.dependenciesApplied(stream, payload.heartbeat));

  const flush = async () => {
    if (last === null) return;
    await ctx.publisher.publish(outputs, deadLetters);
    recordOutputs(ctx, outputs);
    if (source === 'approvals' || source === 'membership') {
      await ctx.judge.store.markApplied(batch.topic, new Map([[batch.partition, (BigInt(last.offset) + 1n).toString()]]));
    }
    payload.resolveOffset(last.offset);
    await payload.commitOffsetsIfNecessary();
    await payload.heartbeat();
    outputs = [];
    unsent.clear();
    for (const [key, n] of counts) {
      const [type, outcome] = key.split('\u0000') as [string, EventOutcome];
      ctx.metrics.events.inc({ topic: batch.topic, type, outcome }, n);
    }
    counts.clear();
    deadLetters = [];
    pending = 0;
  };

  // Messages are most of the traffic, and most come from members of chats that are not frozen:
  // decode the batch first and read every sender's state in one round trip.
  const decodedBatch = source === 'control' ? null : batch.messages.map((m) => decodeInput(source, m.value, ctx.limits));
  const senders =
    source === 'messages' && decodedBatch
      ? await prefetchSenders(ctx, decodedBatch)
      : null;

  for (const [index, message] of batch.messages.entries()) {
    if (!payload.isRunning() || payload.isStale()) break;
    const dead = (reason: string, detail: string) => {
      deadLetters.push(deadLetterFor(ctx, batch, message, source, reason, detail));
      tally('unknown', 'dead-lettered');
    };

    if (source === 'control') {
      await handleControl(ctx, message, dead, tally);
    } else {
      const decoded = decodedBatch![index]!;
      const sender = senders?.get(index);
      const standing = sender && decoded.ok ? messageStanding(sender, decoded.at) : null;
      if (!decoded.ok) {
        dead(decoded.reason, decoded.detail);
      } else if (standing?.member) {
        // The common case, without the judge: a member's message can pair nobody new.
        if (standing.afterFreeze) ctx.metrics.messagesAfterFreeze.inc();
        tally(decoded.event.type, 'applied');
      } else {
        if (source === 'membership' && !(await catchUp('membership'))) break;
        const judgement = await judgeEvent(
          ctx.judge,
          {
            event: decoded.event,
            at: decoded.at,
            ref: { eventId: decoded.event.eventId, type: decoded.event.type, topic: batch.topic, partition: batch.partition, offset: Number(message.offset) },
          },
          source === 'messages' ? { catchUp: () => catchUp('messages'), pending: unsent, sender } : { pending: unsent },
        );
        outputs.push(...judgement.outputs);
        for (const o of judgement.outputs) unsent.add(o.record.alertId);
        if (judgement.messageAfterFreeze) ctx.metrics.messagesAfterFreeze.inc();
        if (judgement.freezesWithheld > 0) {
          ctx.metrics.freezesWithheld.inc(judgement.freezesWithheld);
          const windowMs = ctx.config.freezeBudgetWindowSeconds * 1000;
          const now = ctx.judge.now();
          ctx.metrics.freezeBudgetSpentUntil = now - (now % windowMs) + windowMs;
          ctx.logger.warn({ withheld: judgement.freezesWithheld, budget: ctx.config.freezeBudget, windowSeconds: ctx.config.freezeBudgetWindowSeconds }, 'freeze budget spent: alerting without freezing');
        }
        const isViolation = judgement.outputs.some((o) => o.kind === 'alert' && !o.recovered);
        tally(decoded.event.type, isViolation ? 'violation' : 'applied');
      }
    }
    last = message;
    if (++pending >= FLUSH_EVERY) await flush();
  }
  await flush();
  ctx.metrics.batchDuration.observe({ topic: batch.topic }, (performance.now() - started) / 1000);
  if (last !== null) {
    ctx.metrics.lag.handled(batch.topic, batch.partition, BigInt(last.offset) + 1n, BigInt(batch.highWatermark), Number(last.timestamp));
  }
}

function deadLetterFor(ctx: BatchContext, batch: Batch, message: KafkaMessage, source: Source, reason: string, detail: string): DeadLetterOut {
  ctx.metrics.deadLetters.inc({ topic: batch.topic, reason });
  ctx.logger.warn({ topic: batch.topic, partition: batch.partition, offset: message.offset, reason }, 'malformed record sent to the dead-letter topic');
  return {
    key: message.key,
    record: deadLetterOf({ topic: batch.topic, partition: batch.partition, offset: message.offset, key: message.key, value: message.value }, `${reason}: ${detail}`, source === 'messages'),
  };
}

async function prefetchSenders(ctx: BatchContext, decoded: ReadonlyArray<Decoded<InputEvent>>): Promise<Map<number, SenderState>> {
  const wanted: Array<{ index: number; chatId: string; userId: string }> = [];
  decoded.forEach((d, index) => {
    if (d.ok && d.event.type === 'message.sent') wanted.push({ index, chatId: d.event.chatId, userId: d.event.senderId });
  });
  const states = await ctx.judge.store.readSenders(wanted);
  return new Map(wanted.map((w, i) => [w.index, states[i]!]));
}

async function handleControl(
  ctx: BatchContext,
  message: KafkaMessage,
  dead: (reason: string, detail: string) => void,
  tally: (type: string, outcome: EventOutcome) => void,
) {
  const decoded = decodeControl(message.value, ctx.limits);
  if (decoded === null) return tally('other', 'ignored');
  if (!decoded.ok) return dead(decoded.reason, decoded.detail);
  const unfrozen = await judgeUnfreeze(ctx.judge.store, decoded.event, decoded.at);
  tally(decoded.event.type, unfrozen ? 'applied' : 'ignored');
  if (unfrozen) ctx.logger.info({ chatId: decoded.event.chatId, by: decoded.event.by }, 'chat unfrozen by reviewer');
}

function recordOutputs(ctx: BatchContext, outputs: readonly Output[]) {
  const now = ctx.judge.now();
  for (const o of outputs) {
    if (o.kind === 'alert') {
      const r = o.record;
      ctx.logger.info(
        { alertId: r.alertId, chatId: r.chatId, pair: r.pair, missing: r.missing, trigger: r.trigger, action: r.action, recovered: o.recovered ?? false },
        'unapproved pairing',
      );
      if (o.recovered) continue;
      ctx.metrics.violations.inc({ trigger: r.trigger.type });
      ctx.metrics.detectionLatency.observe(Math.max(0, now - Date.parse(r.occurredAt)) / 1000);
    } else {
      ctx.logger.info({ alertId: o.record.alertId, chatId: o.chatId, recovered: o.recovered ?? false }, 'chat freeze requested');
      if (!o.recovered) ctx.metrics.freezes.inc();
    }
  }
}
