/** What judging a chunk produced, and the counts it reports, in record order. */
import type { Output } from '../../judge/judge.js';
import type { EventOutcome } from '../events.js';
import type { DeadLetterOut } from '../publisher.js';

/** The outcome of one record judged in a lane. */
export interface RecordResult {
  /** Alerts and freezes to write, in the order the judge decided them. */
  outputs: Output[];
  /** The record's event type (a metric label). */
  type: string;
  outcome: EventOutcome;
}

/** Records counted by event type and outcome. */
export class Tally {
  private readonly counts = new Map<string, { eventType: string; outcome: EventOutcome; count: number }>();

  add(eventType: string, outcome: EventOutcome): void {
    const key = `${eventType}\u0000${outcome}`;
    const c = this.counts.get(key);
    if (c) c.count++;
    else this.counts.set(key, { eventType, outcome, count: 1 });
  }

  /** Each type and outcome seen, with its count, in the order first seen. */
  entries(): Array<{ eventType: string; outcome: EventOutcome; count: number }> {
    return [...this.counts.values()].map((c) => ({ ...c }));
  }
}

/** A chunk judged, ready to flush. */
export interface ChunkResult {
  /** Alerts and freezes, in record order. */
  outputs: Output[];
  /** Dead letters of the malformed records, in record order. */
  deadLetters: DeadLetterOut[];
  /** Every record of the chunk by event type and outcome, reported once it is flushed. */
  counts: Tally;
}

/** Puts the lanes' results back in record order, whatever order the lanes finished in. */
export function collectInOrder(
  results: ReadonlyMap<number, RecordResult>,
  deadLetters: DeadLetterOut[],
  counts: Tally,
): ChunkResult {
  const outputs: Output[] = [];
  for (const index of [...results.keys()].sort((a, b) => a - b)) {
    const r = results.get(index)!;
    outputs.push(...r.outputs);
    counts.add(r.type, r.outcome);
  }
  return { outputs, deadLetters, counts };
}
