/**
 * The monitor's connections, opened in start-up order: Redis and the store on it, then Kafka's
 * admin client, then the producer. Each fails start-up with one line naming what did not answer.
 */
import type { Admin, Kafka, Producer } from 'kafkajs';
import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { RedisFreezeBreaker } from '../state/redis-breaker.js';
import type { RedisClient } from '../state/redis-client.js';
import { createRedis } from '../state/redis-client.js';
import { connectRedis } from '../state/redis-connect.js';
import { checkDurability, inspectRedis } from '../state/redis-durability.js';
import { RedisStateStore } from '../state/redis-store.js';
import { connectKafka } from '../stream/connect-errors.js';
import { createKafka } from '../stream/kafka-client.js';
import { MarkSignal } from '../stream/frontier.js';

/** Redis as the monitor uses it. */
export interface RedisConnection {
  redis: RedisClient;
  store: RedisStateStore;
  /** Counts (re)connections: a batch that spans one checks the state is still there before writing. */
  redisEpoch: () => number;
  /** Settles waiters at the frontier as this process writes applied marks (stream/frontier.ts). */
  marks: MarkSignal;
}

export async function openRedis(config: Config, logger: Logger, metrics: Metrics): Promise<RedisConnection> {
  // One server or a cluster, as REDIS_URL says (see state/redis-client.ts). Auto-pipelining:
  // the commands that concurrent lanes (see stream/batch-handler.ts) issue in one tick leave in
  // one write per server.
  const redis = createRedis(config.redisUrl, {
    lazyConnect: true,
    connectionName: 'pairguard',
    autoPipelining: true,
  });
  redis.on('error', (err: Error) => logger.debug({ err: err.message }, 'redis connection error'));
  await connectRedis(redis);
  const withoutAof = checkDurability(await inspectRedis(redis));
  if (withoutAof.length > 0) {
    logger.warn(
      { nodes: withoutAof.map((n) => n.node) },
      'Redis keeps no append-only file: a restart empties it, and pairguard is blind while it rebuilds its state from the topics (enable appendonly)',
    );
  }
  // Each (re)connection is an epoch: the server may have come back empty.
  let epoch = 0;
  redis.on('ready', () => epoch++);
  const marks = new MarkSignal();
  const store = new RedisStateStore(redis, config.redisKeyPrefix, (operation, seconds) => {
    metrics.redisCommandDuration.observe({ operation }, seconds);
    if (operation === 'markApplied') marks.marked();
  });
  return { redis, store, redisEpoch: () => epoch, marks };
}

/** The Kafka client and its connected admin. */
export async function openKafka(config: Config, logger: Logger): Promise<{ kafka: Kafka; admin: Admin }> {
  const kafka = createKafka(config, logger);
  const admin = kafka.admin();
  await connectKafka(admin, config);
  return { kafka, admin };
}

export async function openProducer(kafka: Kafka): Promise<Producer> {
  // Not idempotent: kafkajs 2.2.4 then holds a lock per broker around every produce request, so
  // the outputs of concurrently judged partitions queue behind each other (BENCHMARKS.md). Copies
  // from retries carry the same alertId, which consumers drop (README, Alerts and freezes).
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  return producer;
}

/** One breaker for every instance, its state in Redis (state/freeze-breaker.ts); none without a budget. */
export function freezeBreaker(config: Config, redis: RedisClient): RedisFreezeBreaker | undefined {
  return config.freezeBudget > 0
    ? new RedisFreezeBreaker(redis, config.redisKeyPrefix, config.freezeBudget, config.freezeBudgetWindowSeconds * 1000)
    : undefined;
}
