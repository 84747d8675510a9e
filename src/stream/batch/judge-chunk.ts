/**
 * One chunk of a batch judged: planned (pure), reported, past the ordering barrier, its
 * membership prepared, its lanes run, and the results put back in record order.
 */
import type { EachBatchPayload, KafkaMessage } from 'kafkajs';
import { prepareChunk } from '../../judge/chunk.js';
import type { SenderState } from '../../state/store.js';
import type { ChunkResult } from './chunk-result.js';
import { collectInOrder } from './chunk-result.js';
import type { BatchContext } from './context.js';
import type { DecodedChunk } from './decode-chunk.js';
import type { ChunkHooks } from './judge-record.js';
import { judgeRecord } from './judge-record.js';
import type { LanePlan } from './lane-plan.js';
import { planLanes } from './lane-plan.js';
import { runLanes } from './run-lanes.js';

/** A chunk's records with what was read for them beforehand. */
export interface ChunkInputs {
  /** Batch index of the chunk's first record. */
  from: number;
  /** The chunk's records. */
  messages: readonly KafkaMessage[];
  decoded: DecodedChunk;
  /** Senders' states of the chunk's messages by batch index; null off the messages topic. */
  senders: ReadonlyMap<number, SenderState> | null;
}

/** True once the batch is to be given up: shutting down, or its partition revoked. */
export const batchStopped = (payload: EachBatchPayload): boolean => !payload.isRunning() || payload.isStale();

/** Judges a chunk; null when it was abandoned (barrier stopped, shutdown, partition revoked). */
export async function judgeChunk(
  ctx: BatchContext,
  payload: EachBatchPayload,
  inputs: ChunkInputs,
  hooks: Omit<ChunkHooks, 'view'>,
): Promise<ChunkResult | null> {
  const { topic, partition } = payload.batch;
  const plan = planLanes({ topic, partition, ...inputs });
  for (const event of plan.events) ctx.events.emit(event);
  if (!(await passBarrier(plan, inputs.decoded.source, hooks))) return null;
  // Membership records are prepared together before any is judged (judge/chunk.ts).
  const view = plan.membership.length > 0 ? await prepareChunk(ctx.judge.store, plan.membership) : undefined;
  const results = await runLanes(
    plan.lanes.values(),
    (index) => judgeRecord(ctx, plan.tasks.get(index)!, { ...hooks, view }),
    () => batchStopped(payload),
  );
  return results && collectInOrder(results, plan.deadLetters, plan.counts);
}

/** Membership is judged only once the approvals on their topic are applied; false when stopped. */
async function passBarrier(
  plan: LanePlan,
  source: DecodedChunk['source'],
  hooks: Pick<ChunkHooks, 'catchUp'>,
): Promise<boolean> {
  if (source !== 'membership' || plan.tasks.size === 0) return true;
  return hooks.catchUp('membership');
}
