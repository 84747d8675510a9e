/** Step 3's unit of work: judging one planned record, in its lane. */
import type { ChatUnfrozen, FreezeBreakerReset } from '../../events/schema.js';
import type { JudgeHooks, Output } from '../../judge/judge.js';
import { applyWithheldFreeze, judgeEvent, judgeUnfreeze } from '../../judge/judge.js';
import type { RecordResult } from './chunk-result.js';
import type { BatchContext } from './context.js';
import type { JudgeTask } from './lane-plan.js';

/** What the records of one chunk share while they are judged. */
export interface ChunkHooks {
  /** Alert ids decided in this batch and not written yet: pending, not lost. */
  unsent: Set<string>;
  /**
   * When a record is late, the moment judging had passed before its facts were first applied
   * (a record applied before, in a chunk judged in part, was not late then either); else undefined.
   */
  lateBy: (at: number, offset: number) => number | undefined;
  /** The state the chunk's membership records were prepared with (judge/chunk.ts). */
  view?: JudgeHooks['view'];
}

export function judgeRecord(ctx: BatchContext, task: JudgeTask, hooks: ChunkHooks): Promise<RecordResult> {
  switch (task.kind) {
    case 'input':
      return judgeInput(ctx, task, hooks);
    case 'unfreeze':
      return judgeControl(ctx, task.event, task.at, hooks.unsent);
    case 'breaker-reset':
      return resetBreaker(ctx, task.event);
  }
}

async function judgeInput(
  ctx: BatchContext,
  { source, trigger, sender }: Extract<JudgeTask, { kind: 'input' }>,
  { unsent, lateBy, view }: ChunkHooks,
): Promise<RecordResult> {
  const late = lateBy(trigger.at, trigger.ref.offset);
  // Approvals and registrations were applied before the frontier (apply-facts.ts).
  const hooks: JudgeHooks =
    source === 'messages' ? { pending: unsent, sender, late } : { pending: unsent, view, late, factApplied: true };
  const judgement = await judgeEvent(ctx.judge, trigger, hooks);
  for (const o of judgement.outputs) unsent.add(o.record.alertId);
  if (judgement.messageAfterFreeze) ctx.events.emit({ type: 'message.after-freeze', topic: trigger.ref.topic });
  if (judgement.freezesWithheld > 0)
    ctx.events.emit({
      type: 'freezes.withheld',
      withheld: judgement.freezesWithheld,
      tripped: judgement.breakerTripped === true,
    });
  const isViolation = judgement.outputs.some((o) => o.kind === 'alert' && !o.recovered);
  return { outputs: judgement.outputs, type: trigger.event.type, outcome: isViolation ? 'violation' : 'applied' };
}

async function judgeControl(
  ctx: BatchContext,
  event: ChatUnfrozen,
  at: number,
  pending: ReadonlySet<string>,
): Promise<RecordResult> {
  const judged = await judgeUnfreeze(ctx.judge, event, at, pending);
  if (judged.unfrozen) ctx.events.emit({ type: 'chat.unfrozen', chatId: event.chatId, by: event.by });
  if (judged.freezesWithheld > 0)
    ctx.events.emit({
      type: 'freezes.withheld',
      withheld: judged.freezesWithheld,
      tripped: judged.breakerTripped === true,
    });
  return { outputs: judged.outputs, type: event.type, outcome: judged.unfrozen ? 'applied' : 'ignored' };
}

/** A person reset the freeze breaker: freezes resume, and the withheld ones that still stand are applied. */
async function resetBreaker(ctx: BatchContext, event: FreezeBreakerReset): Promise<RecordResult> {
  const breaker = ctx.judge.breaker;
  if (!breaker) return { outputs: [], type: event.type, outcome: 'ignored' };
  const withheld = await breaker.reset(ctx.judge.now());
  const outputs: Output[] = [];
  let stillWithheld = 0;
  let tripped = false;
  for (const w of withheld) {
    const r = await applyWithheldFreeze(ctx.judge, w);
    outputs.push(...r.outputs);
    if (r.withheld) stillWithheld++;
    tripped ||= r.tripped;
  }
  ctx.events.emit({ type: 'breaker.reset', by: event.by, withheld: withheld.length, applied: outputs.length });
  if (stillWithheld > 0) ctx.events.emit({ type: 'freezes.withheld', withheld: stillWithheld, tripped });
  return { outputs, type: event.type, outcome: 'applied' };
}
