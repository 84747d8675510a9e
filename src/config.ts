/**
 * Configuration, read from the environment once at start-up and validated; the rest of the code
 * receives the typed object and never reads `process.env`.
 */
import { z } from 'zod';
import { PairguardError } from './errors.js';
import { parseRedisUrl } from './state/redis-client.js';

export const DEFAULT_TOPICS = {
  approvals: 'kids.approvals',
  membership: 'kids.membership',
  messages: 'kids.messages',
  alerts: 'pairguard.alerts',
  control: 'kids.chat-control',
  deadLetter: 'pairguard.dead-letter',
} as const;

/** Codecs pairguard can write its own output batches with (every Kafka codec; reading accepts all of them). */
export const OUTPUT_COMPRESSIONS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type OutputCompression = (typeof OUTPUT_COMPRESSIONS)[number];

export type TopicRole = keyof typeof DEFAULT_TOPICS;
export type Topics = Record<TopicRole, string>;

/** Validated configuration. */
export interface Config {
  /** Kafka bootstrap brokers, host:port. */
  kafkaBrokers: string[];
  /** Kafka client id, shown in broker logs and quotas. */
  kafkaClientId: string;
  /** Codec of the batches pairguard writes (alerts, freezes, dead letters); see stream/codecs.ts. */
  kafkaOutputCompression: OutputCompression;
  /** Redis connection URL: one server (may name a database number), or redis-cluster://h1:p1,h2:p2 (see state/redis-client.ts). */
  redisUrl: string;
  /** Prefix of every Redis key pairguard writes (lets tests and tenants share a Redis). */
  redisKeyPrefix: string;
  /** `enforce` freezes chats; `alert-only` only alerts. */
  mode: 'enforce' | 'alert-only';
  /** Consumer group; the approvals consumer uses `<groupId>.approvals`. */
  groupId: string;
  /** Port of /metrics, /healthz, /readyz. */
  httpPort: number;
  /** Topic names. */
  topics: Topics;
  /** pino level. */
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Largest input record accepted, in bytes; larger ones are dead-lettered. */
  maxEventBytes: number;
  /** Most members a chat.created may list; longer lists are dead-lettered. */
  maxChatMembers: number;
  /** Partitions for topics pairguard creates when they are missing (0 = do not create). */
  createTopicsPartitions: number;
  /** How long a membership batch waits for the approval cache to catch up before warning (it keeps waiting). */
  approvalCatchUpWarnMs: number;
  /** Automatic freezes allowed per window, across all instances (0 = no limit). */
  freezeBudget: number;
  /** Length of a freeze-budget window, in seconds. */
  freezeBudgetWindowSeconds: number;
  /** TLS to the brokers (system CAs, or `caFile`). */
  kafkaTls: { caFile: string | null } | null;
  /** SASL authentication to the brokers. */
  kafkaSasl: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string } | null;
  /** Bearer token for /admin endpoints; null disables them. */
  adminToken: string | null;
}

const topicName = z
  .string()
  .regex(/^[a-zA-Z0-9._-]{1,249}$/, 'must be a Kafka topic name (letters, digits, ".", "_", "-")');

const port = z.coerce.number().int().min(0).max(65535);

const schema = z.object({
  KAFKA_BROKERS: z
    .string()
    .default('127.0.0.1:9092')
    .transform((s) => s.split(',').map((b) => b.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'each broker must be host:port')).min(1, 'must name at least one broker')),
  KAFKA_CLIENT_ID: z.string().min(1).default('pairguard'),
  KAFKA_OUTPUT_COMPRESSION: z.enum(OUTPUT_COMPRESSIONS).default('none'),
  REDIS_URL: z
    .string()
    .default('redis://127.0.0.1:6379')
    .superRefine((s, ctx) => {
      try {
        parseRedisUrl(s);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }),
  REDIS_KEY_PREFIX: z.string().regex(/^[^{}\s]*$/, 'must not contain braces or spaces').default('pg:'),
  PAIRGUARD_MODE: z.enum(['enforce', 'alert-only']).default('enforce'),
  PAIRGUARD_GROUP_ID: z.string().regex(/^\S{1,200}$/, 'must be 1-200 characters without spaces').default('pairguard'),
  HTTP_PORT: port.default(9464),
  TOPIC_APPROVALS: topicName.default(DEFAULT_TOPICS.approvals),
  TOPIC_MEMBERSHIP: topicName.default(DEFAULT_TOPICS.membership),
  TOPIC_MESSAGES: topicName.default(DEFAULT_TOPICS.messages),
  TOPIC_ALERTS: topicName.default(DEFAULT_TOPICS.alerts),
  TOPIC_CONTROL: topicName.default(DEFAULT_TOPICS.control),
  TOPIC_DEAD_LETTER: topicName.default(DEFAULT_TOPICS.deadLetter),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PAIRGUARD_MAX_EVENT_BYTES: z.coerce.number().int().min(256).default(256 * 1024),
  PAIRGUARD_MAX_CHAT_MEMBERS: z.coerce.number().int().min(2).default(1000),
  PAIRGUARD_CREATE_TOPICS_PARTITIONS: z.coerce.number().int().min(0).max(10000).default(3),
  PAIRGUARD_APPROVAL_CATCHUP_WARN_MS: z.coerce.number().int().min(100).default(10_000),
  PAIRGUARD_FREEZE_BUDGET: z.coerce.number().int().min(0).default(1000),
  PAIRGUARD_FREEZE_BUDGET_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  KAFKA_TLS: z.enum(['true', 'false']).default('false'),
  KAFKA_TLS_CA_FILE: z.string().min(1).optional(),
  KAFKA_SASL_MECHANISM: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
  KAFKA_SASL_USERNAME: z.string().min(1).optional(),
  KAFKA_SASL_PASSWORD: z.string().min(1).optional(),
  PAIRGUARD_ADMIN_TOKEN: z.string().min(24, 'must be at least 24 characters').optional(),
});

/**
 * The six TOPIC_* variables for topics named `<prefix>.approvals`, `<prefix>.membership`, …: an
 * isolated set for a test, a benchmark or a tenant.
 */
export function prefixedTopicEnv(prefix: string): Record<string, string> {
  return {
    TOPIC_APPROVALS: `${prefix}.approvals`,
    TOPIC_MEMBERSHIP: `${prefix}.membership`,
    TOPIC_MESSAGES: `${prefix}.messages`,
    TOPIC_ALERTS: `${prefix}.alerts`,
    TOPIC_CONTROL: `${prefix}.control`,
    TOPIC_DEAD_LETTER: `${prefix}.dead-letter`,
  };
}

/** A bad setting: the message is one line naming the variable. */
export class ConfigError extends PairguardError {
  constructor(message: string) {
    super('CONFIG_INVALID', message);
  }
}

/** Reads configuration from an environment; throws ConfigError on the first bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Treat empty strings as unset, as shells and compose files often pass them.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const name = String(issue.path[0] ?? 'environment');
    const shown = cleaned[name] === undefined ? '' : ` (got ${JSON.stringify(redactSecret(name, cleaned[name]!))})`;
    throw new ConfigError(`invalid ${name}: ${issue.message}${shown}`);
  }
  const e = result.data;
  const topics: Topics = {
    approvals: e.TOPIC_APPROVALS,
    membership: e.TOPIC_MEMBERSHIP,
    messages: e.TOPIC_MESSAGES,
    alerts: e.TOPIC_ALERTS,
    control: e.TOPIC_CONTROL,
    deadLetter: e.TOPIC_DEAD_LETTER,
  };
  if (e.KAFKA_SASL_MECHANISM && (!e.KAFKA_SASL_USERNAME || !e.KAFKA_SASL_PASSWORD)) {
    throw new ConfigError(`invalid ${e.KAFKA_SASL_USERNAME ? 'KAFKA_SASL_PASSWORD' : 'KAFKA_SASL_USERNAME'}: required when KAFKA_SASL_MECHANISM is set`);
  }
  const inputs = [topics.approvals, topics.membership, topics.messages];
  if (new Set(inputs).size !== inputs.length) throw new ConfigError('invalid TOPIC_APPROVALS/TOPIC_MEMBERSHIP/TOPIC_MESSAGES: the three input topics must differ');
  return {
    kafkaBrokers: e.KAFKA_BROKERS,
    kafkaClientId: e.KAFKA_CLIENT_ID,
    kafkaOutputCompression: e.KAFKA_OUTPUT_COMPRESSION,
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    mode: e.PAIRGUARD_MODE,
    groupId: e.PAIRGUARD_GROUP_ID,
    httpPort: e.HTTP_PORT,
    topics,
    logLevel: e.LOG_LEVEL,
    maxEventBytes: e.PAIRGUARD_MAX_EVENT_BYTES,
    maxChatMembers: e.PAIRGUARD_MAX_CHAT_MEMBERS,
    createTopicsPartitions: e.PAIRGUARD_CREATE_TOPICS_PARTITIONS,
    approvalCatchUpWarnMs: e.PAIRGUARD_APPROVAL_CATCHUP_WARN_MS,
    freezeBudget: e.PAIRGUARD_FREEZE_BUDGET,
    freezeBudgetWindowSeconds: e.PAIRGUARD_FREEZE_BUDGET_WINDOW_SECONDS,
    kafkaTls: e.KAFKA_TLS === 'true' || e.KAFKA_TLS_CA_FILE ? { caFile: e.KAFKA_TLS_CA_FILE ?? null } : null,
    kafkaSasl: e.KAFKA_SASL_MECHANISM ? { mechanism: e.KAFKA_SASL_MECHANISM, username: e.KAFKA_SASL_USERNAME!, password: e.KAFKA_SASL_PASSWORD! } : null,
    adminToken: e.PAIRGUARD_ADMIN_TOKEN ?? null,
  };
}

function redactSecret(name: string, value: string): string {
  if (/PASSWORD|TOKEN/.test(name)) return '***';
  if (name !== 'REDIS_URL') return value.slice(0, 80);
  return value.replace(/\/\/[^@/]*@/, '//***@').slice(0, 80);
}
