/**
 * The learned record (state/learned.ts) as the judge and the publisher of every instance consult
 * it: in Redis, so an instance that joins a rebuild led by another finds what that one learned.
 * It is asked only while a bound is kept there, which the monitor follows (at start-up and on
 * each health pass); without one, consulting it costs no round trip, so live judging is as before.
 */
import type { LearnedChat, LearnedDecisions, LearningBound, OutputIdentity } from './learned.js';
import { NOTHING_LEARNED, beforeBound } from './learned.js';
import type { LearnedReads } from './store.js';

export class LearnedGate implements LearnedDecisions, LearnedReads {
  private bound: LearningBound | null = null;

  constructor(private readonly store: LearnedReads) {}

  /** Whether a learned record is kept (a rebuild has not caught up yet). */
  get active(): boolean {
    return this.bound !== null;
  }

  /** Follows the bound kept in Redis: null once the learned record is dropped. */
  follow(bound: LearningBound | null): void {
    this.bound = bound;
  }

  alreadyWritten(outputs: readonly OutputIdentity[]): Promise<boolean[]> {
    if (!this.bound || outputs.length === 0) return Promise.resolve(outputs.map(() => false));
    return this.store.alreadyWritten(outputs);
  }

  learnedChat(chatId: string): Promise<LearnedChat> {
    return this.bound ? this.store.learnedChat(chatId) : Promise.resolve(NOTHING_LEARNED);
  }

  replayed(topic: string, partition: number, offset: number | string): boolean {
    return this.bound !== null && beforeBound(this.bound, topic, partition, offset);
  }
}
