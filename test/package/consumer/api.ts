/**
 * Type-checked (never run) against the package's declarations: each entry point's names exist
 * with the types a user relies on, and misuse is a compile error, so an `any` slipping into the
 * shipped .d.ts files fails the check.
 */
import type { AlertRecord, AuditReport, Config, DeadLetter, FreezeCommand, InputEvent } from 'pairguard';
import {
  auditTopics,
  createKafka,
  createLogger,
  loadConfig,
  Monitor,
  PairguardError,
  replayLines,
  SCHEMA_VERSION,
} from 'pairguard';
import alertSchema from 'pairguard/schemas/pairing.unapproved.schema.json' with { type: 'json' };
import manifest from 'pairguard/package.json' with { type: 'json' };
import type { PairguardTestEnv, PairguardTestEnvOptions, WaitOptions } from 'pairguard/testing';
import { createPairguardTestEnv } from 'pairguard/testing';

export async function embed(): Promise<AuditReport> {
  const config: Config = loadConfig({ KAFKA_BROKERS: 'kafka-1:9092,kafka-2:9092', PAIRGUARD_MODE: 'alert-only' });
  const monitor: Monitor = await Monitor.start({ config, logger: createLogger('warn') });
  await monitor.stop();
  const kafka = createKafka(config, createLogger('warn'));
  await replayLines({ kafka, topics: config.topics, createPartitions: 0 }, ['{"type":"user.registered"}']);
  // @ts-expect-error: mode is 'enforce' or 'alert-only'
  const mode: 'freeze-all' = config.mode;
  void mode;
  return auditTopics({
    kafka,
    topics: config.topics,
    limits: { maxValueBytes: config.maxEventBytes, maxMembers: config.maxChatMembers },
  });
}

export const event: InputEvent = {
  type: 'chat.created',
  eventId: 'e1',
  occurredAt: '2026-11-21T09:00:02.000Z',
  chatId: 'c',
  createdBy: 'a',
  members: ['a', 'b'],
};

const options: PairguardTestEnvOptions = {
  brokers: ['127.0.0.1:9092'],
  tls: { caFile: 'ca.pem', certFile: 'client.pem', keyFile: 'client.key' },
  sasl: { mechanism: 'scram-sha-512', username: 'pairguard', password: 'secret' },
  replicationFactor: 3,
  settings: { KAFKA_SASL_PASSWORD_FILE: '/run/secrets/kafka' },
};

export async function test(): Promise<string> {
  await using env: PairguardTestEnv = await createPairguardTestEnv(options);
  const onlyC: WaitOptions<AlertRecord> = { count: 1, where: (a) => a.chatId === 'c', timeoutMs: 5_000 };
  const [alert] = await env.waitForAlerts(onlyC);
  const freezes: FreezeCommand[] = await env.waitForFreezes();
  const dead: DeadLetter[] = await env.waitForDeadLetters({ count: 1 });
  // @ts-expect-error: a pair holds two user ids
  const first: number = alert!.pair[0];
  // @ts-expect-error: there is no such option
  await createPairguardTestEnv({ partition: 3 });
  void [first, freezes, dead];
  const err: unknown = null;
  if (err instanceof PairguardError && err.code === 'KAFKA_UNAVAILABLE') return 'no broker';
  const version: typeof SCHEMA_VERSION = alert!.schemaVersion;
  return `${manifest.version} ${alertSchema.title} ${version}`;
}
