/** What the batch steps are given: the judge's dependencies, where outputs go, and the monitor's hooks. */
import type { Config } from '../../config.js';
import type { DecodeLimits } from '../../events/decode.js';
import type { JudgeDeps } from '../../judge/judge.js';
import type { Stamp } from '../../policy/timeline.js';
import type { StreamEvents } from '../events.js';
import type { FrontierOutcome } from '../frontier.js';
import type { Publisher } from '../publisher.js';

/** One wait at the frontier, as a batch step asks for it. */
export interface FrontierAsk {
  /** Which facts: the membership topic's, or every input topic's. */
  facts: 'membership' | 'inputs';
  /** The batch's stream (metrics and logs). */
  stream: 'approvals' | 'membership' | 'messages';
  /** The batch's own partition. */
  own: { topic: string; partition: number };
  /**
   * When the batch was fetched (ms): high watermarks read since then may serve the wait, as every
   * record on its topic by then is what the frontier must see (stream/frontier.ts, WatermarkCache).
   */
  fetchedAt: number;
  through: Stamp;
  heartbeat: () => Promise<void>;
  /** True once the batch is to be given up. */
  stopped: () => boolean;
}

export interface BatchContext {
  /** Topic names (which stream a batch is from) and the clock-skew bound. */
  config: Pick<Config, 'topics' | 'maxClockSkewSeconds'>;
  /** Store, mode, clock and freeze breaker the judge runs with. */
  judge: JudgeDeps;
  /** Writes a chunk's alerts, freezes and dead letters, then marks the decisions sent. */
  publisher: Pick<Publisher, 'publish'>;
  /** Where the stream reports what it did (observability/stream-events.ts in the monitor). */
  events: StreamEvents;
  /** Size limits for decoding. */
  limits: DecodeLimits;
  /** Called when the state in Redis is found gone; the batch is left unprocessed and uncommitted. */
  onStateLost: () => void;
  /** Counts Redis (re)connections; a batch spanning one re-checks the state before writing. */
  redisEpoch?: () => number;
  /** The records of a partition before `nextOffset` are judged and their outputs written: committable. */
  done: (topic: string, partition: number, nextOffset: string) => void;
  /**
   * Waits at the event-time frontier (stream/frontier.ts) until every fact earlier than `through`
   * is in state: on the membership topic (before a message's sender is looked up), or on every
   * input topic (before judging).
   */
  frontier: (wait: FrontierAsk) => Promise<FrontierOutcome>;
  /**
   * Runs `fn` exclusive of the same partition's other calls. A consumer that applies a batch's
   * facts ahead while the batch before it on the partition is judged (monitor/judging-queues.ts)
   * gives one: a batch's lateness read and its facts applied (batch-handler.ts) never fall between
   * a judged chunk's mark and its reads (judge-chunk.ts). Without it, calls run as they come
   * (kafkajs hands a partition's batches over one at a time).
   */
  exclusive?: <T>(topic: string, partition: number, fn: () => Promise<T>) => Promise<T>;
  /** How many of `stamps`, in order, the facts in state are past already (stream/frontier.ts, stampsPast). */
  frontierReach: (ask: Pick<FrontierAsk, 'facts' | 'own' | 'fetchedAt'>, stamps: readonly Stamp[]) => Promise<number>;
}
