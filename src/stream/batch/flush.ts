/**
 * Step 4 of a chunk: its outputs written, then its records marked done and committable. Offsets
 * move only after the effects are durable, so a crash replays records rather than losing them.
 */
import type { Batch, EachBatchPayload } from 'kafkajs';
import type { Output } from '../../judge/judge.js';
import type { StreamEvents } from '../events.js';
import type { ChunkResult } from './chunk-result.js';
import type { BatchContext } from './context.js';
import type { Source } from './decode-chunk.js';

export async function flushChunk(
  ctx: BatchContext,
  payload: EachBatchPayload,
  source: Source,
  judged: ChunkResult,
  through: string,
): Promise<void> {
  const { topic, partition } = payload.batch;
  // Outputs a rebuild learned were written before are not written again, nor reported as written.
  const written = await ctx.publisher.publish(judged.outputs, judged.deadLetters);
  reportOutputs(ctx.events, written, ctx.judge.now());
  // Its facts were marked applied before it was judged (apply-facts.ts).
  const next = (BigInt(through) + 1n).toString();
  // Resolved, the partition is fetched from the next record on; the commit comes later (offset-commits.ts).
  payload.resolveOffset(through);
  ctx.done(topic, partition, next);
  await payload.heartbeat();
  for (const c of judged.counts.entries()) ctx.events.emit({ type: 'records.counted', topic, ...c });
}

/** Every input topic is waited for at the frontier: its progress is marked in state. */
export async function markApplied(
  ctx: Pick<BatchContext, 'judge'>,
  source: Source | null,
  topic: string,
  partition: number,
  next: string,
): Promise<void> {
  if (source !== null && source !== 'control') await ctx.judge.store.markApplied(topic, new Map([[partition, next]]));
}

/**
 * The last offset a chunk is done through. The batch's last chunk is done through the batch's
 * last offset, which may be a transaction marker or an aborted record after the last record
 * judged: they carry no facts, and the read-committed end the barrier compares with counts them.
 */
export function doneThrough(batch: Batch, to: number): string {
  const last = batch.messages[to - 1]!.offset;
  if (to < batch.messages.length) return last;
  const end = batch.lastOffset();
  return BigInt(last) >= BigInt(end) ? last : end;
}

function reportOutputs(events: StreamEvents, outputs: readonly Output[], writtenAt: number): void {
  for (const o of outputs) {
    const recovered = o.recovered ?? false;
    if (o.kind === 'alert') events.emit({ type: 'alert.written', record: o.record, recovered, writtenAt });
    else events.emit({ type: 'freeze.written', alertId: o.record.alertId, chatId: o.chatId, recovered });
  }
}
