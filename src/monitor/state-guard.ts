/**
 * State in Redis is a cache of the input topics. At start-up, state found missing is rebuilt from
 * the topics; while running, state that goes missing stops the monitor (see Monitor.loseState).
 */
import type { Admin } from 'kafkajs';
import type { Config } from '../config.js';
import { PairguardError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { RedisStateStore } from '../state/redis-store.js';
import { consumerGroups } from '../stream/consumer-groups.js';
import { withTimeout } from './timers.js';

/**
 * If the state is missing while the consumer groups have committed offsets, it was lost: rewind
 * the groups to the earliest offsets so it is rebuilt from history (alerts come again with the
 * same alertIds). Only possible while no other instance is in the groups; otherwise start-up
 * fails and should be retried once they have stopped too.
 */
export async function ensureState(
  store: RedisStateStore,
  admin: Admin,
  config: Config,
  logger: Logger,
  now: () => number,
): Promise<void> {
  if (await store.stateIntact()) return;
  const groups = consumerGroups(config);
  let committed = false;
  for (const g of groups) {
    const offsets = await admin.fetchOffsets({ groupId: g.groupId, topics: g.topics });
    if (offsets.some((t) => t.partitions.some((p) => p.offset !== '-1'))) committed = true;
  }
  if (committed) {
    logger.warn(
      { groups: groups.map((g) => g.groupId) },
      'Redis holds no pairguard state but the consumer groups have committed offsets: rebuilding state from the beginning of the input topics',
    );
    try {
      for (const g of groups)
        for (const topic of g.topics) await admin.resetOffsets({ groupId: g.groupId, topic, earliest: true });
    } catch (err) {
      throw new PairguardError(
        'STATE_LOST',
        `Redis lost pairguard's state and the consumer groups could not be rewound (stop every instance, then start again): ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
  await store.markStateCreated(now());
}

/** A health check: calls `onLost` once the state marker is gone, so loss is noticed with traffic or without. */
export function stateMarkerCheck(store: RedisStateStore, logger: Logger, onLost: () => void): () => Promise<void> {
  return async () => {
    // Bounded: a check stuck on a node that went away must not stop the next ones.
    const intact = await withTimeout(store.stateIntact(), 2_000).catch((err: Error) => {
      logger.debug({ err: err.message }, 'could not check the state marker, will try again');
      return true;
    });
    if (!intact) onLost();
  };
}
