/**
 * Integration-test harness, on the parts of `pairguard/testing` (src/testing/environment.ts):
 * every test gets its own topics, consumer group and Redis key prefix on the real local broker
 * and Redis, runs real monitors, reads what they wrote, and cleans up. Beyond the public module:
 * any setting may be overridden (even the isolating ones), topics take broker configs, and the
 * helpers below read topics and keys directly.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Admin, KafkaMessage } from 'kafkajs';
import { Kafka, logLevel } from 'kafkajs';
import type { Config } from '../../src/config.js';
import { loadConfig } from '../../src/config.js';
import type { Monitor } from '../../src/monitor.js';
import { registerCodecs } from '../../src/stream/codecs.js';
import type { RedisClient } from '../../src/state/redis-client.js';
import { deleteByPrefix, masters } from '../../src/state/redis-client.js';
import { recordsNotCommitted } from '../../src/stream/consumer-groups.js';
import {
  createTopics,
  environmentId,
  isolatingSettings,
  LogSink,
  removeEnvironment,
  startInProcess,
} from '../../src/testing/environment.js';

export const BROKERS = ['127.0.0.1:9092'];
export const REDIS_URL = 'redis://127.0.0.1:6379';

registerCodecs();
export const kafka = new Kafka({ clientId: 'pairguard-test', brokers: BROKERS, logLevel: logLevel.NOTHING });

/** Everything a monitor logged, as text, for assertions. */
export class LogCapture extends LogSink {
  lines(): Array<Record<string, unknown>> {
    return this.text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

/** How a test's monitor observes itself. */
export interface MonitorTestOptions {
  /** Node process metrics (off by default: they cost a little and few tests read them). */
  processMetrics?: boolean;
  /** Interval of the high-watermark look behind the lag gauges (default 1 s in tests). */
  lagIntervalMs?: number;
  /** How often judged offsets are committed (the monitor's default when absent). */
  commitIntervalMs?: number;
}

export interface TestEnv {
  id: string;
  /** A client of the broker this environment uses. */
  kafka: Kafka;
  config: Config;
  admin: Admin;
  redis: Redis;
  logs: LogCapture;
  monitors: Monitor[];
  startMonitor(overrides?: Partial<Config>, opts?: MonitorTestOptions): Promise<Monitor>;
  cleanup(): Promise<void>;
}

/** A fresh, isolated environment: topics created with `partitions` partitions each. */
export async function createTestEnv(
  opts: {
    partitions?: number;
    env?: Record<string, string>;
    brokers?: string[];
    /** Broker configs of every topic, e.g. compression.type. */ topicConfig?: Record<string, string>;
  } = {},
): Promise<TestEnv> {
  const client = opts.brokers
    ? new Kafka({ clientId: 'pairguard-test', brokers: opts.brokers, logLevel: logLevel.NOTHING })
    : kafka;
  const id = environmentId('t');
  const config = loadConfig({
    KAFKA_BROKERS: BROKERS.join(','),
    REDIS_URL,
    LOG_LEVEL: 'info',
    ...isolatingSettings(id),
    ...opts.env,
  });
  const admin = client.admin();
  await admin.connect();
  await createTopics(admin, config, {
    numPartitions: opts.partitions ?? 3,
    replicationFactor: 1,
    configEntries: Object.entries(opts.topicConfig ?? {}).map(([name, value]) => ({ name, value })),
  });
  // Leaders are named before they serve: a produce request sent now can fail on one partition
  // ("not the leader") and kafkajs then retries the whole request, writing the records of the
  // partitions that did succeed twice. Wait until every partition answers a ListOffsets.
  await waitFor('every partition of the new topics to have a serving leader', () =>
    Promise.all(Object.values(config.topics).map((topic) => admin.fetchTopicOffsets(topic))).then(
      () => true,
      () => false,
    ),
  );
  const redis = new Redis(REDIS_URL);
  const logs = new LogCapture();
  const monitors: Monitor[] = [];
  return {
    id,
    kafka: client,
    config,
    admin,
    redis,
    logs,
    monitors,
    async startMonitor(overrides = {}, opts = {}) {
      const m = await startInProcess(
        { ...config, ...overrides },
        {
          logs,
          logLevel: 'info',
          processMetrics: opts.processMetrics,
          lagIntervalMs: opts.lagIntervalMs ?? 1_000,
          commitIntervalMs: opts.commitIntervalMs,
        },
      );
      monitors.push(m);
      return m;
    },
    async cleanup() {
      // The keys are deleted on the local server, whatever REDIS_URL names: a private Redis or
      // cluster that a test starts, the test destroys.
      await removeEnvironment({ config, admin, monitors, deleteKeys: () => deleteKeys(redis, config.redisKeyPrefix) });
      redis.disconnect();
    },
  };
}

/** Deletes a prefix's keys on one server, or on every master of a cluster. */
export function deleteKeys(redis: RedisClient, prefix: string): Promise<number> {
  return deleteByPrefix(redis, prefix);
}

/** Every key under a prefix, on one server or on every master of a cluster. */
export async function keysWithPrefix(redis: RedisClient, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for (const node of masters(redis)) {
    for await (const page of node.scanStream({ match: `${prefix}*`, count: 1000 }) as AsyncIterable<string[]>)
      keys.push(...page);
  }
  return keys;
}

/** Every record currently on a topic, parsed as JSON, in partition order. */
export async function readTopic<T = Record<string, unknown>>(
  admin: Admin,
  topic: string,
  client: Kafka = kafka,
): Promise<Array<{ key: string | null; value: T; partition: number; offset: string }>> {
  const offsets = await admin.fetchTopicOffsets(topic);
  const wanted = offsets.filter((o) => BigInt(o.high) > BigInt(o.low));
  if (wanted.length === 0) return [];
  const groupId = `reader-${randomBytes(6).toString('hex')}`;
  const consumer = client.consumer({ groupId, maxWaitTimeInMs: 50 });
  const out: Array<{ key: string | null; value: T; partition: number; offset: string }> = [];
  const remaining = new Map(wanted.map((o) => [o.partition, BigInt(o.high)]));
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out reading ${topic}`)), 30_000);
      consumer
        .run({
          eachMessage: async ({ partition, message }: { partition: number; message: KafkaMessage }) => {
            out.push({
              key: message.key?.toString() ?? null,
              value: JSON.parse(message.value!.toString()) as T,
              partition,
              offset: message.offset,
            });
            if (BigInt(message.offset) + 1n >= remaining.get(partition)!) remaining.delete(partition);
            if (remaining.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
  return out.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
}

/** Waits until pairguard's groups have committed every input record (the monitor is idle). */
export async function waitUntilConsumed(env: TestEnv, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let behind: bigint | null;
    try {
      behind = await recordsNotCommitted(env.admin, env.config);
    } catch (err) {
      // A broker that just restarted answers "not the coordinator" until it has loaded the
      // groups: not yet known, not a failure.
      if (!(err as { retriable?: boolean }).retriable || Date.now() > deadline) throw err;
      behind = null;
    }
    if (behind === 0n) return;
    if (Date.now() > deadline) throw new Error(`monitor still ${behind} records behind after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Topics whose names start with `prefix` (a test environment's id: its six, until it is cleaned up). */
export async function topicsWithPrefix(prefix: string, client: Kafka = kafka): Promise<string[]> {
  const admin = client.admin();
  await admin.connect();
  try {
    return (await admin.listTopics()).filter((t) => t.startsWith(prefix));
  } finally {
    await admin.disconnect();
  }
}
