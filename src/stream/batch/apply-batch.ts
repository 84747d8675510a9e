/**
 * Step 0 of an approvals or membership batch: the facts of all its records put in state and
 * marked applied, a chunk at a time, before any of them is judged. The consumers waiting at the
 * event-time frontier (stream/frontier.ts) for these facts then go as far as the batch reaches,
 * not a chunk ahead of this consumer's judging, which itself waits for them: with a window of one
 * chunk, three consumers on a backlog moved in lockstep, a chunk at a time.
 *
 * Messages are not applied ahead: a message's fact (a sender who is not a member joins) needs the
 * membership before it, so each chunk applies its own (judge-chunk.ts).
 */
import type { EachBatchPayload } from 'kafkajs';
import type { BatchContext } from './context.js';
import type { Source } from './decode-chunk.js';
import { decodeChunk } from './decode-chunk.js';
import { applyPlanned, chunkStamps } from './apply-facts.js';
import { doneThrough } from './flush.js';
import { planLanes } from './lane-plan.js';

/** Applies the batch's facts from `appliedBefore` on, `chunk` records at a time. */
export async function applyBatchFacts(
  ctx: BatchContext,
  payload: EachBatchPayload,
  source: Extract<Source, 'approvals' | 'membership'>,
  appliedBefore: bigint,
  chunk: number,
): Promise<void> {
  const { batch } = payload;
  const { topic, partition } = batch;
  const first = batch.messages.findIndex((m) => BigInt(m.offset) >= appliedBefore);
  if (first < 0) return;
  for (let from = first; from < batch.messages.length; from += chunk) {
    const messages = batch.messages.slice(from, from + chunk);
    const decoded = decodeChunk(source, messages, ctx.limits, ctx.config.maxClockSkewSeconds);
    if (decoded.source === 'control') continue;
    const plan = planLanes({ topic, partition, from, messages, decoded, senders: null });
    const stamps = chunkStamps(decoded.records, messages, partition).map((s) => s.stamp);
    await applyPlanned(ctx.judge.store, batch, plan, stamps, {
      appliedBefore,
      through: doneThrough(batch, from + messages.length),
    });
  }
}
