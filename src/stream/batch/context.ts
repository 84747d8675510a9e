/** What the batch steps are given: the judge's dependencies, where outputs go, and the monitor's hooks. */
import type { Config } from '../../config.js';
import type { DecodeLimits } from '../../events/decode.js';
import type { JudgeDeps } from '../../judge/judge.js';
import type { StreamEvents } from '../events.js';
import type { Publisher } from '../publisher.js';

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
   * Waits until the records a stream depends on are in state (membership: approvals; messages:
   * approvals and membership); false when shutting down.
   */
  dependenciesApplied: (stream: 'membership' | 'messages', heartbeat: () => Promise<void>) => Promise<boolean>;
}
