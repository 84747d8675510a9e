/**
 * `pairguard/testing`: for your own vitest or jest suites. Each environment gets fresh topics, its
 * own consumer groups and Redis key prefix on a real Kafka and Redis; it replays JSONL fixtures
 * (or event objects) into those topics, runs pairguard in-process on them, and waits for the
 * alerts and freezes pairguard writes. `cleanup()` deletes the topics, the groups and the keys.
 *
 * ```ts
 * import { afterEach, expect, it } from 'vitest';
 * import { createPairguardTestEnv, type PairguardTestEnv } from 'pairguard/testing';
 *
 * let env: PairguardTestEnv;
 * afterEach(() => env?.cleanup());
 *
 * it('freezes the 2019 group-chat flaw', async () => {
 *   env = await createPairguardTestEnv({ brokers: ['127.0.0.1:9092'], redisUrl: 'redis://127.0.0.1:6379' });
 *   await env.startMonitor();
 *   await env.replay('test/fixtures/flaw-2019.jsonl');
 *   const [alert] = await env.waitForAlerts({ count: 1 });
 *   expect(alert!.pair).toEqual(['bob', 'carol']);
 *   expect(await env.waitForFreezes({ count: 1 })).toMatchObject([{ chatId: 'group-1' }]);
 * });
 * ```
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Admin, Consumer } from 'kafkajs';
import { Kafka, logLevel } from 'kafkajs';
import type { AlertRecord, FreezeCommand } from '../actions/records.js';
import type { Config } from '../config.js';
import { loadConfig, prefixedTopicEnv } from '../config.js';
import { Monitor } from '../monitor.js';
import { createLogger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import { createRedis, deleteByPrefix } from '../state/redis-client.js';
import { registerCodecs } from '../stream/codecs.js';
import { consumerGroups, recordsNotCommitted } from '../stream/consumer-groups.js';
import type { ReplaySummary } from '../cli/replay.js';
import { replayFile, replayLines } from '../cli/replay.js';

export type { AlertRecord, FreezeCommand } from '../actions/records.js';
export type { Config } from '../config.js';
export type { ReplaySummary } from '../cli/replay.js';

export interface PairguardTestEnvOptions {
  /** Kafka brokers (default 127.0.0.1:9092). */
  brokers?: string[];
  /** Redis (default redis://127.0.0.1:6379; redis-cluster://h1:p1,h2:p2 names a cluster); only keys under this environment's prefix are written and deleted. */
  redisUrl?: string;
  /** Partitions of each topic (default 3). */
  partitions?: number;
  /** `enforce` (default) or `alert-only`. */
  mode?: 'enforce' | 'alert-only';
  /** pino level of the in-process monitor's logs, written to `env.logs` (default `info`). */
  logLevel?: Config['logLevel'];
}

export interface WaitOptions<T> {
  /** Wait until at least this many (matching) records arrived; unset waits until pairguard is idle. */
  count?: number;
  /** Only records this accepts count and are returned. */
  where?: (record: T) => boolean;
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
}

export interface PairguardTestEnv {
  /** Short unique id; topic names, groups and the Redis prefix contain it. */
  readonly id: string;
  /** The configuration of this environment (topics, group, Redis prefix, mode). */
  readonly config: Config;
  /** Everything the in-process monitors logged (JSON lines). */
  readonly logs: { text: string };
  /** Starts pairguard in this process on this environment's topics; stopped by `cleanup()`. */
  startMonitor(overrides?: Partial<Config>): Promise<Monitor>;
  /** Replays a JSONL file (the format of `pairguard replay`), or events given as objects or lines. */
  replay(source: string | Iterable<object | string>, opts?: { rate?: number }): Promise<ReplaySummary>;
  /** The alerts written so far, once the wait is over (see WaitOptions). */
  waitForAlerts(opts?: WaitOptions<AlertRecord>): Promise<AlertRecord[]>;
  /** The `chat.freeze` commands written so far, once the wait is over. */
  waitForFreezes(opts?: WaitOptions<FreezeCommand>): Promise<FreezeCommand[]>;
  /** Resolves once the monitors have committed every input record and their outputs are collected. */
  waitUntilIdle(timeoutMs?: number): Promise<void>;
  /** Stops the monitors, deletes the topics, groups and Redis keys; safe to call twice. */
  cleanup(): Promise<void>;
}

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, done: () => void) {
    this.text += chunk.toString();
    done();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function createPairguardTestEnv(opts: PairguardTestEnvOptions = {}): Promise<PairguardTestEnv> {
  const id = `pgt${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const brokers = opts.brokers ?? ['127.0.0.1:9092'];
  const config = loadConfig({
    KAFKA_BROKERS: brokers.join(','),
    REDIS_URL: opts.redisUrl ?? 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: `pgtest:${id}:`,
    PAIRGUARD_GROUP_ID: `pairguard-${id}`,
    PAIRGUARD_MODE: opts.mode ?? 'enforce',
    PAIRGUARD_CREATE_TOPICS_PARTITIONS: '0',
    HTTP_PORT: '0',
    LOG_LEVEL: opts.logLevel ?? 'info',
    ...prefixedTopicEnv(id),
  });
  registerCodecs();
  const kafka = new Kafka({ clientId: `pairguard-testing-${id}`, brokers, logLevel: logLevel.NOTHING });
  const admin: Admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: Object.values(config.topics).map((topic) => ({ topic, numPartitions: opts.partitions ?? 3, replicationFactor: 1 })),
  });

  // Outputs are collected from the first record on, so a wait never misses one written before it began.
  const alerts: AlertRecord[] = [];
  const freezes: FreezeCommand[] = [];
  const seen = new Map<string, bigint>();
  const tailGroup = `pairguard-testing-tail-${id}`;
  const tail: Consumer = kafka.consumer({ groupId: tailGroup, maxWaitTimeInMs: 50 });
  await tail.connect();
  await tail.subscribe({ topics: [config.topics.alerts, config.topics.control], fromBeginning: true });
  await tail.run({
    autoCommit: false,
    eachMessage: async ({ topic, partition, message }) => {
      seen.set(`${topic}/${partition}`, BigInt(message.offset) + 1n);
      if (!message.value) return;
      const v = JSON.parse(message.value.toString()) as { type?: string };
      if (topic === config.topics.alerts) alerts.push(v as AlertRecord);
      else if (v.type === 'chat.freeze') freezes.push(v as FreezeCommand);
    },
  });

  const logs = new Sink();
  const monitors: Monitor[] = [];

  const collected = async () => {
    for (const topic of [config.topics.alerts, config.topics.control]) {
      for (const w of await admin.fetchTopicOffsets(topic)) {
        if ((seen.get(`${topic}/${w.partition}`) ?? BigInt(w.low)) < BigInt(w.high)) return false;
      }
    }
    return true;
  };

  const waitUntilIdle = async (timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const behind = await recordsNotCommitted(admin, config);
      if (behind === 0n && (await collected())) return;
      if (Date.now() > deadline) throw new Error(`pairguard is still ${behind} input records behind after ${timeoutMs} ms`);
      await sleep(100);
    }
  };

  const waitFor = async <T>(what: string, records: T[], o: WaitOptions<T>): Promise<T[]> => {
    const match = () => (o.where ? records.filter(o.where) : [...records]);
    const timeoutMs = o.timeoutMs ?? 30_000;
    if (o.count === undefined) {
      await waitUntilIdle(timeoutMs);
      return match();
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = match();
      if (found.length >= o.count) return found;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${o.count} ${what}; saw ${found.length}: ${JSON.stringify(found).slice(0, 500)}`);
      await sleep(50);
    }
  };

  let cleaning: Promise<void> | null = null;
  return {
    id,
    config,
    logs,
    async startMonitor(overrides = {}) {
      const m = await Monitor.start({ config: { ...config, ...overrides }, logger: createLogger(config.logLevel, logs), metrics: new Metrics({ processMetrics: false }), healthIntervalMs: 200 });
      monitors.push(m);
      return m;
    },
    async replay(source, o = {}) {
      const base = { kafka, topics: config.topics, createPartitions: 0, rate: o.rate };
      if (typeof source === 'string') return replayFile({ ...base, file: source, progress: false });
      return replayLines(base, [...source].map((e) => (typeof e === 'string' ? e : JSON.stringify(e))));
    },
    waitForAlerts: (o = {}) => waitFor('alerts', alerts, o),
    waitForFreezes: (o = {}) => waitFor('freezes', freezes, o),
    waitUntilIdle,
    cleanup() {
      cleaning ??= (async () => {
        // Every step runs even when one fails.
        await Promise.allSettled(monitors.map((m) => m.stop()));
        await tail.disconnect().catch(() => undefined);
        await admin.deleteTopics({ topics: Object.values(config.topics) }).catch(() => undefined);
        await admin.deleteGroups([...consumerGroups(config).map((g) => g.groupId), tailGroup]).catch(() => undefined);
        await admin.disconnect().catch(() => undefined);
        // One server or every master of a cluster, as REDIS_URL names it.
        const redis = createRedis(config.redisUrl, { lazyConnect: true });
        redis.on('error', () => undefined);
        try {
          await redis.connect();
          await deleteByPrefix(redis, config.redisKeyPrefix);
        } catch {
          // Nothing to delete when Redis is gone; the keys carry a unique prefix.
        } finally {
          redis.disconnect();
        }
      })();
      return cleaning;
    },
  };
}
