/**
 * The health pass, run at the health interval: Redis and Kafka answer, the approval cache has
 * caught up, the state marker is still there, the breaker's gauges follow Redis, a rebuild's
 * learned record is followed and dropped once the rebuild has caught up. One loop for all of
 * them; each check runs on its own, so one that hangs does not stop the others.
 */
import type { Admin } from 'kafkajs';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { LearnedGate } from '../state/learned-gate.js';
import { boundPassed } from '../state/learned.js';
import type { RedisFreezeBreaker } from '../state/redis-breaker.js';
import type { RedisStateStore } from '../state/redis-store.js';
import type { LearnedStore } from '../state/store.js';
import { recordsNotApplied } from '../stream/applied-barrier.js';

/** What the health pass last found, for readiness. */
export interface DependencyHealth {
  /** Redis answered the last ping. */
  redisUp: boolean;
  /** Kafka answered the last describeCluster. */
  kafkaUp: boolean;
  /** Every approval on the topic was applied once (it stays true after). */
  caughtUp: boolean;
}

export interface DependencyCheckDeps {
  store: RedisStateStore;
  admin: Admin;
  /** The topic the approval cache is built from. */
  approvalsTopic: string;
  logger: Logger;
  metrics: Metrics;
  /** Updated by each check. */
  health: DependencyHealth;
  /** Readiness after the check, for the ready gauge. */
  notReadyReason: () => string | null;
}

/** Pings Redis and Kafka, follows the approval cache's catch-up, and sets the *_up, ready and frozen-chats gauges. */
export function dependencyCheck(deps: DependencyCheckDeps): () => Promise<void> {
  const { store, admin, logger, metrics, health } = deps;
  return async () => {
    const [redisUp, kafkaUp] = await Promise.all([
      store.ping().then(
        () => true,
        () => false,
      ),
      admin.describeCluster().then(
        () => true,
        () => false,
      ),
    ]);
    const behind =
      redisUp && kafkaUp ? await recordsNotApplied(admin, store, deps.approvalsTopic).catch(() => null) : null;
    if (redisUp !== health.redisUp)
      logger[redisUp ? 'info' : 'error']({ dependency: 'redis' }, redisUp ? 'dependency up' : 'dependency down');
    if (kafkaUp !== health.kafkaUp)
      logger[kafkaUp ? 'info' : 'error']({ dependency: 'kafka' }, kafkaUp ? 'dependency up' : 'dependency down');
    health.redisUp = redisUp;
    health.kafkaUp = kafkaUp;
    if (behind === 0n && !health.caughtUp) {
      health.caughtUp = true;
      logger.info('approval cache caught up');
    }
    metrics.redisUp.set(redisUp ? 1 : 0);
    metrics.kafkaUp.set(kafkaUp ? 1 : 0);
    metrics.ready.set(deps.notReadyReason() === null ? 1 : 0);
    // One SCARD of the index kept beside each chat's freeze field, so nothing is scanned (see state/keys.ts).
    if (redisUp)
      await store.frozenChats().then(
        (n) => metrics.frozenChats.set(n),
        () => undefined,
      );
  };
}

/** Another instance may trip or reset the breaker: every instance's gauges follow Redis. */
export function breakerGaugesCheck(
  breaker: RedisFreezeBreaker,
  metrics: Metrics,
  now: () => number,
): () => Promise<void> {
  return async () => {
    const state = await breaker.state(now()).catch(() => null);
    if (!state) return;
    metrics.freezeBudgetExhausted.set(state.open ? 1 : 0);
    metrics.freezesWithheldPending.set(state.withheld.length);
  };
}

export interface LearnedRecordDeps {
  store: Pick<LearnedStore, 'learningBound' | 'forgetLearned'>;
  admin: Pick<Admin, 'fetchOffsets'>;
  /** What this instance's judge and publisher consult, set to follow Redis. */
  gate: Pick<LearnedGate, 'follow'>;
  logger: Logger;
}

/**
 * Follows the learned record of a rebuild (state/learned.ts), whichever instance led it, and drops
 * it once every consumer group's committed offsets have passed its bound: every record judged
 * before the state was lost has then been judged again and its outputs settled. Any instance may
 * drop it, and a drop cut short is done again on a later pass.
 */
export function learnedRecordCheck(deps: LearnedRecordDeps): () => Promise<void> {
  const { store, admin, gate, logger } = deps;
  return async () => {
    try {
      const bound = await store.learningBound();
      gate.follow(bound);
      if (!bound) return;
      const committed = new Map<string, Map<number, bigint>>();
      for (const g of bound.groups) {
        const topics = g.topics.map((t) => t.topic);
        for (const t of await admin.fetchOffsets({ groupId: g.groupId, topics }))
          committed.set(
            `${g.groupId}\u0000${t.topic}`,
            new Map(t.partitions.flatMap((p) => (p.offset === '-1' ? [] : [[p.partition, BigInt(p.offset)] as const]))),
          );
      }
      if (!boundPassed(bound, (groupId, topic) => committed.get(`${groupId}\u0000${topic}`) ?? new Map())) return;
      await store.forgetLearned();
      gate.follow(null);
      logger.info(
        { learnedAt: new Date(bound.learnedAt).toISOString() },
        'the rebuild has caught up with the topics: the outputs learned from them are dropped',
      );
    } catch (err) {
      logger.debug({ err: (err as Error).message }, 'could not follow the learned record, will try again');
    }
  };
}

/**
 * One pass over `checks`, all started together. A check still running from an earlier pass is
 * not started again, and the pass waits for its checks at most `boundMs`: a check that hangs
 * (Redis stops answering) skips passes while the others go on at the interval.
 */
export function healthPass(checks: ReadonlyArray<() => Promise<void>>, boundMs: number): () => Promise<void> {
  const running: Array<Promise<void> | null> = checks.map(() => null);
  const start = (i: number) => (running[i] ??= checks[i]!().finally(() => (running[i] = null)));
  return async () => {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, boundMs)));
    await Promise.race([Promise.all(checks.map((_, i) => start(i))), bound]).finally(() => clearTimeout(timer));
  };
}
