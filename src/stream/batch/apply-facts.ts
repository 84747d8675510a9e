/**
 * Step 2b of a chunk: its facts put in state and marked applied before it waits at the frontier
 * (stream/frontier.ts), so that no consumer waits for another's judging, only for its facts:
 * approvals and registrations merged into their histories, membership switches written
 * (judge/chunk.ts, writeChunkMembership), a message sender who is not a member joined at the
 * message's moment. Every write is a merge, so a chunk applied again (fetched again after a wait
 * gave up, or after a crash) leaves the same state.
 */
import type { Batch, KafkaMessage } from 'kafkajs';
import type { Decoded } from '../../events/decode.js';
import { eventStamp } from '../../events/event-time.js';
import type { InputEvent } from '../../events/schema.js';
import { applyUserFact } from '../../judge/judge.js';
import { triggerStamp } from '../../judge/judgement.js';
import type { Stamp } from '../../policy/timeline.js';
import { compareMoments } from '../../policy/timeline.js';
import type { FactStore, MarkStore } from '../../state/store.js';
import type { JudgeTask, LanePlan } from './lane-plan.js';
import { writeChunkMembership } from '../../judge/chunk.js';

/** The stamps of a chunk's records that decoded, in record order, with their indices in the chunk. */
export function chunkStamps(
  records: ReadonlyArray<Decoded<InputEvent> | null>,
  messages: readonly KafkaMessage[],
  partition: number,
): Array<{ index: number; stamp: Stamp }> {
  const out: Array<{ index: number; stamp: Stamp }> = [];
  records.forEach((d, i) => {
    if (d?.ok) out.push({ index: i, stamp: eventStamp(d.event.type, d.at, partition, Number(messages[i]!.offset)) });
  });
  return out;
}

/** The latest of some stamps, or null when there are none. */
export function latestStamp(stamps: readonly Stamp[]): Stamp | null {
  let latest: Stamp | null = null;
  for (const s of stamps) if (!latest || compareMoments(s, latest) > 0) latest = s;
  return latest;
}

/** Approvals and registrations merged, and the chunk's message senders who are not members joined. */
export async function applyChunkFacts(store: FactStore, tasks: Iterable<JudgeTask>): Promise<void> {
  const writes: Array<Promise<unknown>> = [];
  for (const task of tasks) {
    if (task.kind !== 'input') continue;
    const { trigger } = task;
    const write = applyUserFact(store, trigger);
    if (write) writes.push(write);
    else if (trigger.event.type === 'message.sent')
      // Planned for the judge, so not a member as of its moment: it joins then (contract §1).
      writes.push(store.applyMembership(trigger.event.chatId, [trigger.event.senderId], true, triggerStamp(trigger)));
  }
  await Promise.all(writes);
}

/**
 * A planned chunk's facts put in state, those of records at or after the partition's applied
 * mark only (the others are in already: merging them again would change nothing, at a cost),
 * then, unless `through` is null, marked applied through it.
 */
export async function applyPlanned(
  store: FactStore & Pick<MarkStore, 'markApplied'> & Parameters<typeof writeChunkMembership>[0],
  batch: Pick<Batch, 'topic' | 'partition'>,
  plan: Pick<LanePlan, 'membership' | 'tasks'>,
  stamps: readonly Stamp[],
  { appliedBefore, through }: { appliedBefore: bigint; through: string | null },
): Promise<void> {
  const unapplied = (offset: number) => BigInt(offset) >= appliedBefore;
  await Promise.all([
    writeChunkMembership(
      store,
      plan.membership.filter((r) => typeof r.at === 'number' || unapplied(r.at[3])),
    ),
    applyChunkFacts(
      store,
      [...plan.tasks.values()].filter((t) => t.kind !== 'input' || unapplied(t.trigger.ref.offset)),
    ),
  ]);
  if (through !== null && BigInt(through) >= appliedBefore) await markChunkApplied(store, batch, through, stamps);
}

/**
 * Marks the chunk's facts applied: its partition's next offset (`through` + 1, which for the
 * batch's last chunk covers trailing transaction markers) and the latest moment among its records.
 */
export async function markChunkApplied(
  store: Pick<MarkStore, 'markApplied'>,
  batch: Pick<Batch, 'topic' | 'partition'>,
  through: string,
  stamps: readonly Stamp[],
): Promise<void> {
  const latest = latestStamp(stamps);
  const next = new Map([[batch.partition, (BigInt(through) + 1n).toString()]]);
  await store.markApplied(batch.topic, next, latest ? new Map([[batch.partition, latest[0]]]) : undefined);
}
