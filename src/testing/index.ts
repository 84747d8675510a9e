/**
 * `pairguard/testing`: for your own vitest or jest suites. Each environment gets fresh topics, its
 * own consumer groups and Redis key prefix on a real Kafka and Redis; it replays JSONL fixtures
 * (or event objects) into those topics, runs pairguard in-process on them, and waits for the
 * alerts, freezes and dead letters pairguard writes. `cleanup()` (or leaving an `await using`
 * block) deletes the topics, the groups and the keys.
 *
 * ```ts
 * import { expect, it } from 'vitest';
 * import { createPairguardTestEnv } from 'pairguard/testing';
 *
 * it('freezes the 2019 group-chat flaw', async () => {
 *   await using env = await createPairguardTestEnv({ brokers: ['127.0.0.1:9092'], redisUrl: 'redis://127.0.0.1:6379' });
 *   await env.startMonitor();
 *   await env.replay('test/fixtures/flaw-2019.jsonl');
 *   const [alert] = await env.waitForAlerts({ count: 1 });
 *   expect(alert!.pair).toEqual(['bob', 'carol']);
 *   expect(await env.waitForFreezes({ count: 1 })).toMatchObject([{ chatId: 'group-1' }]);
 * });
 * ```
 */
import type { Admin, Kafka } from 'kafkajs';
import type { AlertRecord, DeadLetter, FreezeCommand } from '../actions/records.js';
import type { Config } from '../config.js';
import { loadConfig } from '../config.js';
import type { Monitor } from '../monitor.js';
import { createLogger } from '../observability/logger.js';
import { createRedis, deleteByPrefix } from '../state/redis-client.js';
import { recordsNotCommitted } from '../stream/consumer-groups.js';
import { createKafka } from '../stream/kafka-client.js';
import type { ReplaySummary } from '../cli/replay.js';
import { replayFile, replayLines } from '../cli/replay.js';
import {
  createTopics,
  environmentId,
  isolatingSettings,
  LogSink,
  removeEnvironment,
  startInProcess,
} from './environment.js';
import { OutputTail } from './output-tail.js';
import { assertReachable, connectAdmin } from './reachable.js';

export type { AlertRecord, DeadLetter, FreezeCommand } from '../actions/records.js';
export type { Config } from '../config.js';
export type { ReplaySummary } from '../cli/replay.js';

export interface PairguardTestEnvOptions {
  /** Kafka bootstrap brokers, host:port (default 127.0.0.1:9092). */
  brokers?: string[];
  /** Redis (default redis://127.0.0.1:6379; redis-cluster://h1:p1,h2:p2 names a cluster); only keys under this environment's prefix are written and deleted. */
  redisUrl?: string;
  /** TLS to the brokers: `true` for the system CAs, or PEM files (a private CA; a client certificate and key for mTLS). */
  tls?: boolean | { caFile?: string; certFile?: string; keyFile?: string };
  /** SASL authentication to the brokers. */
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  /** Partitions of each topic (default 3). */
  partitions?: number;
  /** Replication factor of each topic (default 1; at most the number of brokers). */
  replicationFactor?: number;
  /** `enforce` (default) or `alert-only`. */
  mode?: 'enforce' | 'alert-only';
  /** pino level of the in-process monitor's logs, written to `env.logs` (default `info`). */
  logLevel?: Config['logLevel'];
  /** Any other setting of `pairguard run`, named as in its environment (README "Configuration"), e.g. `{ KAFKA_SASL_PASSWORD_FILE: '/run/secrets/kafka' }`. */
  settings?: Record<string, string>;
  /** How long the broker and Redis have to answer before creation fails naming the one that did not (default 5 s). */
  connectTimeoutMs?: number;
}

export interface WaitOptions<T> {
  /** Wait until at least this many (matching) records arrived; unset waits until pairguard is idle. */
  count?: number;
  /** Only records this accepts count and are returned. */
  where?: (record: T) => boolean;
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
}

export interface PairguardTestEnv extends AsyncDisposable {
  /** Short unique id; topic names, groups and the Redis prefix contain it. */
  readonly id: string;
  /** The configuration of this environment (topics, group, Redis prefix, mode). */
  readonly config: Config;
  /** A kafkajs client of this environment's brokers, for records of your own (TLS and SASL as configured). */
  readonly kafka: Kafka;
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
  /** The dead letters (records pairguard could not judge) written so far, once the wait is over. */
  waitForDeadLetters(opts?: WaitOptions<DeadLetter>): Promise<DeadLetter[]>;
  /** Resolves once the monitors have committed every input record and their outputs are collected. */
  waitUntilIdle(timeoutMs?: number): Promise<void>;
  /** Stops the monitors, deletes the topics, groups and Redis keys; safe to call twice. `await using` calls it. */
  cleanup(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The environment `pairguard run` would be given for this test environment. */
function settingsOf(id: string, opts: PairguardTestEnvOptions): Record<string, string | undefined> {
  const tls = opts.tls === true ? {} : opts.tls || null;
  return {
    KAFKA_BROKERS: (opts.brokers ?? ['127.0.0.1:9092']).join(','),
    REDIS_URL: opts.redisUrl ?? 'redis://127.0.0.1:6379',
    KAFKA_TLS: tls ? 'true' : undefined,
    KAFKA_TLS_CA_FILE: tls?.caFile,
    KAFKA_TLS_CERT_FILE: tls?.certFile,
    KAFKA_TLS_KEY_FILE: tls?.keyFile,
    KAFKA_SASL_MECHANISM: opts.sasl?.mechanism,
    KAFKA_SASL_USERNAME: opts.sasl?.username,
    KAFKA_SASL_PASSWORD: opts.sasl?.password,
    LOG_LEVEL: opts.logLevel ?? 'info',
    ...opts.settings,
    // What keeps environments apart is not the caller's to change.
    ...isolatingSettings(id),
    PAIRGUARD_MODE: opts.mode ?? 'enforce',
    PAIRGUARD_CREATE_TOPICS_PARTITIONS: '0',
  };
}

export async function createPairguardTestEnv(opts: PairguardTestEnvOptions = {}): Promise<PairguardTestEnv> {
  const id = environmentId('pgt');
  const config = loadConfig(settingsOf(id, opts));
  const connectTimeoutMs = opts.connectTimeoutMs ?? 5_000;
  await assertReachable(config.kafkaBrokers, config.redisUrl, connectTimeoutMs);
  const logs = new LogSink();
  const kafka = createKafka(config, createLogger(config.logLevel, logs), `-testing-${id}`);
  const admin: Admin = kafka.admin();
  const tail = new OutputTail(kafka, config.topics, `pairguard-testing-tail-${id}`);
  const monitors: Monitor[] = [];

  let cleaning: Promise<void> | null = null;
  const cleanup = () => {
    cleaning ??= removeEnvironment({
      config,
      admin,
      monitors,
      stopReaders: () => tail.stop(),
      otherGroups: [tail.groupId],
      deleteKeys: () => deleteKeys(config),
    });
    return cleaning;
  };

  // Nothing to undo when this fails: connectAdmin disconnects what it connected.
  await connectAdmin(admin, config, connectTimeoutMs, () => lastKafkaError(logs.text));
  try {
    await createTopics(admin, config, {
      numPartitions: opts.partitions ?? 3,
      replicationFactor: opts.replicationFactor ?? 1,
    });
    await tail.start();
  } catch (err) {
    await cleanup();
    throw err;
  }

  const waitUntilIdle = async (timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const behind = await recordsNotCommitted(admin, config);
      if (behind === 0n && (await tail.caughtUp(admin))) return;
      if (Date.now() > deadline)
        throw new Error(`pairguard is still ${behind} input records behind after ${timeoutMs} ms`);
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
      if (Date.now() > deadline)
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${o.count} ${what}; saw ${found.length}: ${JSON.stringify(found).slice(0, 500)}`,
        );
      await sleep(50);
    }
  };

  return {
    id,
    config,
    kafka,
    logs,
    async startMonitor(overrides = {}) {
      const m = await startInProcess({ ...config, ...overrides }, { logs, logLevel: config.logLevel });
      monitors.push(m);
      return m;
    },
    async replay(source, o = {}) {
      const base = { kafka, topics: config.topics, createPartitions: 0, rate: o.rate };
      if (typeof source === 'string') return replayFile({ ...base, file: source, progress: false });
      return replayLines(
        base,
        [...source].map((e) => (typeof e === 'string' ? e : JSON.stringify(e))),
      );
    },
    waitForAlerts: (o = {}) => waitFor('alerts', tail.alerts, o),
    waitForFreezes: (o = {}) => waitFor('freezes', tail.freezes, o),
    waitForDeadLetters: (o = {}) => waitFor('dead letters', tail.deadLetters, o),
    waitUntilIdle,
    cleanup,
    [Symbol.asyncDispose]: cleanup,
  };
}

/** The reason of the last connection error kafkajs logged (into `env.logs`, through createKafka's logger). */
function lastKafkaError(text: string): string | null {
  for (const line of text.trimEnd().split('\n').reverse()) {
    if (!line) continue;
    const entry = JSON.parse(line) as { component?: string; msg?: string };
    if (entry.component === 'kafkajs' && entry.msg?.startsWith('Connection error: '))
      return entry.msg.slice('Connection error: '.length).trim();
  }
  return null;
}

/** Deletes the environment's keys on one server or every master of a cluster, as REDIS_URL names it. */
async function deleteKeys(config: Config): Promise<void> {
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
}
