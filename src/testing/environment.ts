/**
 * The parts of a test environment: its id and the settings that keep it apart from others, its
 * topics, monitors started in this process, and its removal. `createPairguardTestEnv` is built
 * from them, and so is pairguard's own integration-test harness (test/support/harness.ts).
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Admin } from 'kafkajs';
import type { Config } from '../config.js';
import { prefixedTopicEnv } from '../config.js';
import { Monitor } from '../monitor.js';
import { createLogger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import { consumerGroups } from '../stream/consumer-groups.js';
import { creationConfig } from '../stream/topics.js';

/** How often a test monitor checks its dependencies: readiness follows within a fraction of a second. */
const HEALTH_INTERVAL_MS = 200;

/** Everything written to it, as text: where a test monitor's JSON log lines go. */
export class LogSink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, done: () => void) {
    this.text += chunk.toString();
    done();
  }
}

/** A short unique id starting with `prefix`; topic names, groups and the Redis prefix contain it. */
export function environmentId(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

/** The settings that keep environment `id` apart: its Redis key prefix, groups, topics, and a free HTTP port. */
export function isolatingSettings(id: string): Record<string, string> {
  return {
    REDIS_KEY_PREFIX: `pgtest:${id}:`,
    PAIRGUARD_GROUP_ID: `pairguard-${id}`,
    HTTP_PORT: '0',
    ...prefixedTopicEnv(id),
  };
}

export interface TopicLayout {
  numPartitions: number;
  replicationFactor: number;
  /** Broker configs of every topic, e.g. compression.type. */
  configEntries?: Array<{ name: string; value: string }>;
}

/** Creates the environment's topics; the broker's refusal is stated, not kafkajs's bare "Topic creation errors". */
export async function createTopics(admin: Admin, config: Config, layout: TopicLayout): Promise<void> {
  const { numPartitions, replicationFactor, configEntries } = layout;
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: Object.values(config.topics).map((topic) => ({
        topic,
        numPartitions,
        replicationFactor,
        configEntries: creationConfig(config.topics, topic, configEntries),
      })),
    });
  } catch (err) {
    const causes = (err as { errors?: Array<{ type?: string; message: string }> }).errors ?? [err as Error];
    const why = [...new Set(causes.map((e) => ('type' in e && e.type ? `${e.type} (${e.message})` : e.message)))].join(
      ', ',
    );
    throw new Error(
      `pairguard/testing: the broker refused the topics (${numPartitions} partitions, replication factor ${replicationFactor}): ${why}`,
      { cause: err },
    );
  }
}

export interface InProcessOptions {
  /** Where its JSON log lines go. */
  logs: Writable;
  logLevel: Config['logLevel'];
  /** Node process metrics (off by default: they cost a little and few tests read them). */
  processMetrics?: boolean;
  /** Interval of the high-watermark look behind the lag gauges (the monitor's default when absent). */
  lagIntervalMs?: number;
  /** How often judged offsets are committed (the monitor's default when absent). */
  commitIntervalMs?: number;
}

/** Starts pairguard in this process, with its own metrics registry. */
export function startInProcess(config: Config, o: InProcessOptions): Promise<Monitor> {
  return Monitor.start({
    config,
    logger: createLogger(o.logLevel, o.logs),
    metrics: new Metrics({ processMetrics: o.processMetrics ?? false }),
    healthIntervalMs: HEALTH_INTERVAL_MS,
    lagIntervalMs: o.lagIntervalMs,
    commitIntervalMs: o.commitIntervalMs,
  });
}

/** What an environment leaves behind. */
export interface Leftovers {
  config: Config;
  /** Connected; disconnected at the end. */
  admin: Admin;
  /** Monitors started in the environment. */
  monitors: readonly Monitor[];
  /** Stops whatever else reads the topics (an output reader), before they are deleted. */
  stopReaders?: () => Promise<void>;
  /** Consumer groups besides pairguard's own (a reader's). */
  otherGroups?: readonly string[];
  /** Deletes the environment's Redis keys. */
  deleteKeys: () => Promise<unknown>;
}

/** Stops the monitors, deletes the topics, the groups and the keys; every Kafka step runs even when one fails. */
export async function removeEnvironment(l: Leftovers): Promise<void> {
  await Promise.allSettled(l.monitors.map((m) => m.stop()));
  await l.stopReaders?.().catch(() => undefined);
  await deleteTopics(l.admin, Object.values(l.config.topics)).catch(() => undefined);
  const groups = [...consumerGroups(l.config).map((g) => g.groupId), ...(l.otherGroups ?? [])];
  await l.admin.deleteGroups(groups).catch(() => undefined);
  await l.admin.disconnect().catch(() => undefined);
  await l.deleteKeys();
}

/** Deletes those of the topics that exist (kafkajs retries the deletion of a missing one for seconds). */
async function deleteTopics(admin: Admin, topics: string[]): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const present = topics.filter((t) => existing.has(t));
  if (present.length > 0) await admin.deleteTopics({ topics: present });
}
