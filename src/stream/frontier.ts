/**
 * The event-time frontier (contract §1 and §6): a record is judged only once every fact earlier
 * than it in event time (events/event-time.ts) is in state, on every input topic, in both
 * directions: a membership event waits for approvals and messages, an approval for membership and
 * messages, a message for approvals and membership, each also for the other partitions of its own
 * topic. With every fact's history kept (policy/timeline.ts), that makes judgement independent of
 * the order and lag the topics are consumed with.
 *
 * A partition is past a stamp when the facts applied from it reach past it (its applied mark, and
 * the moment of the last record applied), or when it is caught up: every record on it at the start
 * of the wait is applied (an idle partition never holds judging; a record put on it later was not
 * on its topic when the event was judged). Facts are applied and marked before a consumer waits,
 * so no consumer waits for another's judging, only for its facts.
 *
 * One wait is bounded (`yieldAfterMs`): it gives up, unjudged and uncommitted, and its batch is
 * tried again. The monitor's consumers keep fetching while a batch waits (monitor/judging-queues.ts),
 * so the partitions it waits for move on meanwhile, and trying again re-reads what judging the
 * chunk depends on. (A batch judged inside kafkajs's fetch round, as handleBatch does, is fetched
 * again instead: kafkajs fetches a group's next records only once every batch of the round is
 * done, so a batch waiting for a partition of its own group would otherwise wait for ever.)
 */
import type { Admin } from 'kafkajs';
import type { EventTimeTopic } from '../events/event-time.js';
import { TOPIC_RANK } from '../events/event-time.js';
import type { Stamp } from '../policy/timeline.js';
import { compareMoments } from '../policy/timeline.js';
import type { AppliedPosition, MarkStore } from '../state/store.js';
import type { Watermarks } from './records-behind.js';

/** A topic the frontier waits for, with its place in event time. */
export interface FrontierTopic {
  name: string;
  role: EventTimeTopic;
}

export interface FrontierWait {
  admin: Pick<Admin, 'fetchTopicOffsets'>;
  store: Pick<MarkStore, 'appliedPositions'>;
  /** The topics whose facts must be in state. */
  topics: readonly FrontierTopic[];
  /** The waiting batch's own partition: its facts up to the chunk are applied by the waiter itself. */
  own: { topic: string; partition: number };
  /** Every record earlier than this stamp must be applied. */
  through: Stamp;
  /** Called while waiting, to keep the consumer's group session alive. */
  onWait?: () => Promise<void>;
  /** Stops waiting (shutdown, partition revoked). */
  shouldStop?: () => boolean;
  /** Gives up after this long: the batch is tried again (see above). */
  yieldAfterMs: number;
  /**
   * Settles when this process next writes an applied mark (MarkSignal): a wait for a partition
   * this process consumes goes on at once instead of at its next poll. Marks written by other
   * instances are seen at the next poll.
   */
  marked?: () => Promise<void>;
}

/**
 * This process's applied marks, as they are written: each waiter at the frontier looks again as
 * soon as one is, rather than at its next poll (a few ms, on every step of a chain of consumers
 * that wait for one another).
 */
export class MarkSignal {
  private pending: { promise: Promise<void>; settle: () => void } | null = null;

  /** Settles at the next mark written. */
  next(): Promise<void> {
    if (!this.pending) {
      let settle!: () => void;
      const promise = new Promise<void>((r) => (settle = r));
      this.pending = { promise, settle };
    }
    return this.pending.promise;
  }

  /** A mark was written (or its write ended, failed or not: a waiter then only looks again). */
  marked(): void {
    const pending = this.pending;
    this.pending = null;
    pending?.settle();
  }
}

/** How a wait ended: past the frontier, stopped, or given up to be tried again. */
export type FrontierOutcome =
  { passed: true; waitedMs: number } | { passed: false; why: 'stopped' | 'yielded'; behind: number };

/**
 * Whether a partition's applied facts reach past `through`: caught up with its high watermark as
 * read at the start of the wait, or its last applied record (`next - 1`, at `at`) at or after it.
 * A partition is written in time order, so a moment marked with `next` unchanged, that of the
 * record at `next`, says that nothing earlier than that record is left on it.
 */
export function partitionPast(
  topic: FrontierTopic,
  partition: number,
  applied: AppliedPosition | undefined,
  watermarks: Watermarks,
  through: Stamp,
): boolean {
  const next = applied?.next ?? BigInt(watermarks.low);
  if (next >= BigInt(watermarks.high)) return true;
  // Without a moment nothing on the partition is known to be applied. With one, every record
  // before `next` is (a consumer may mark its next record's moment before applying it: judge-chunk.ts).
  if (!applied || applied.at === Number.NEGATIVE_INFINITY) return false;
  const last: Stamp = [applied.at, TOPIC_RANK[topic.role], partition, Number(next - 1n)];
  return compareMoments(last, through) >= 0;
}

/** The partition a waiter does not wait for: its own, whose facts before the chunk it applied itself, in order. */
export function notAwaited(t: FrontierTopic, partition: number, own: FrontierWait['own']): boolean {
  return t.name === own.topic && partition === own.partition;
}

/** Waits until every partition of the topics is past `through`. */
export async function waitForFrontier(w: FrontierWait): Promise<FrontierOutcome> {
  const watermarks = await Promise.all(w.topics.map((t) => w.admin.fetchTopicOffsets(t.name)));
  const started = Date.now();
  let delay = 1;
  for (;;) {
    const applied = await Promise.all(w.topics.map((t) => w.store.appliedPositions(t.name)));
    let behind = 0;
    w.topics.forEach((t, i) => {
      for (const wm of watermarks[i]!) {
        if (notAwaited(t, wm.partition, w.own)) continue;
        if (!partitionPast(t, wm.partition, applied[i]!.get(wm.partition), wm, w.through)) behind++;
      }
    });
    if (behind === 0) return { passed: true, waitedMs: Date.now() - started };
    if (w.shouldStop?.()) return { passed: false, why: 'stopped', behind };
    if (Date.now() - started >= w.yieldAfterMs) return { passed: false, why: 'yielded', behind };
    await w.onWait?.();
    let timer: NodeJS.Timeout | undefined;
    const slept = new Promise<void>((r) => (timer = setTimeout(r, delay)));
    await (w.marked ? Promise.race([slept, w.marked()]) : slept);
    clearTimeout(timer);
    // A short cap: the wait is usually one fetch of another consumer, and every ms is detection latency.
    delay = Math.min(delay * 2, 5);
  }
}

/**
 * How long one wait lasts before the batch is tried again. Trying again costs the chunk's reads of
 * lateness and state, so not too often on a backlog, where the consumer that is ahead waits most
 * of the time; and a wait notices a stop at its next poll whatever this is.
 */
export const FRONTIER_YIELD_MS = 250;

/** Tracks, per stream, how long waits have kept giving up, and says so once per warn period. */
export class SlowWaits {
  private readonly since = new Map<string, { started: number; nextWarn: number }>();

  constructor(
    private readonly warnAfterMs: number,
    private readonly warn: (stream: string, behind: number, waitedMs: number) => void,
    private readonly now: () => number = Date.now,
  ) {}

  observe(stream: string, outcome: FrontierOutcome): void {
    if (outcome.passed || outcome.why === 'stopped') {
      this.since.delete(stream);
      return;
    }
    const now = this.now();
    const s = this.since.get(stream) ?? { started: now - FRONTIER_YIELD_MS, nextWarn: this.warnAfterMs };
    this.since.set(stream, s);
    const waited = now - s.started;
    if (waited >= s.nextWarn) {
      this.warn(stream, outcome.behind, waited);
      s.nextWarn += this.warnAfterMs;
    }
  }
}

/**
 * How many of `stamps` (in record order) every partition of the topics is past now: the records a
 * consumer can go on with while the rest wait. A consumer in the middle of the topics' chain
 * (messages, whose facts depend on membership) takes what is ready instead of the whole chunk, so
 * that the consumers waiting for its facts are not kept waiting for a chunk it cannot finish.
 */
export async function stampsPast(
  w: Pick<FrontierWait, 'admin' | 'store' | 'topics' | 'own'>,
  stamps: readonly Stamp[],
): Promise<number> {
  const [watermarks, applied] = await Promise.all([
    Promise.all(w.topics.map((t) => w.admin.fetchTopicOffsets(t.name))),
    Promise.all(w.topics.map((t) => w.store.appliedPositions(t.name))),
  ]);
  const past = (through: Stamp) =>
    w.topics.every((t, i) =>
      watermarks[i]!.every(
        (wm) =>
          notAwaited(t, wm.partition, w.own) ||
          partitionPast(t, wm.partition, applied[i]!.get(wm.partition), wm, through),
      ),
    );
  let n = 0;
  while (n < stamps.length && past(stamps[n]!)) n++;
  return n;
}

/**
 * High watermarks read once and shared, for as long as they serve: a wait for a batch fetched at
 * `since` needs every record on the topics by then, so watermarks read at or after `since` do
 * (they only grow). A backlog's many small waits then read Redis, not Kafka, each time.
 */
export class WatermarkCache {
  private readonly read = new Map<string, { at: number; offsets: Promise<Watermarks[]> }>();

  constructor(
    private readonly admin: Pick<Admin, 'fetchTopicOffsets'>,
    private readonly now: () => number = Date.now,
  ) {}

  /** An admin whose fetchTopicOffsets serves watermarks read at or after `since`. */
  since(since: number): Pick<Admin, 'fetchTopicOffsets'> {
    return { fetchTopicOffsets: (topic: string) => this.offsets(topic, since) } as Pick<Admin, 'fetchTopicOffsets'>;
  }

  private offsets(topic: string, since: number): Promise<Watermarks[]> {
    const had = this.read.get(topic);
    if (had && had.at >= since) return had.offsets;
    const at = this.now();
    const offsets = this.admin.fetchTopicOffsets(topic);
    this.read.set(topic, { at, offsets });
    // A failed read is not kept: the next wait reads again.
    offsets.catch(() => {
      if (this.read.get(topic)?.offsets === offsets) this.read.delete(topic);
    });
    return offsets;
  }
}
