/**
 * Configuration, read from the environment once at start-up and validated; the rest of the code
 * receives the typed object and never reads `process.env`.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from './errors.js';
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

/** Whether pairguard freezes the chats it alerts on (`enforce`) or only alerts (`alert-only`). */
export type Mode = 'enforce' | 'alert-only';

export type TopicRole = keyof typeof DEFAULT_TOPICS;

/** The setting that names each topic (contract §4). */
export const TOPIC_SETTINGS: Readonly<Record<TopicRole, string>> = {
  approvals: 'TOPIC_APPROVALS',
  membership: 'TOPIC_MEMBERSHIP',
  messages: 'TOPIC_MESSAGES',
  alerts: 'TOPIC_ALERTS',
  control: 'TOPIC_CONTROL',
  deadLetter: 'TOPIC_DEAD_LETTER',
};
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
  mode: Mode;
  /** Consumer group; the approvals consumer uses `<groupId>.approvals`. */
  groupId: string;
  /** Port of /metrics, /healthz, /readyz. */
  httpPort: number;
  /** Address the HTTP server binds (0.0.0.0 in a container, 127.0.0.1 on a shared host). */
  httpHost: string;
  /** Seconds a consumer may judge nothing while records wait for it before /healthz fails. */
  stallSeconds: number;
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
  /** Whether missing input topics are created too (a local demo); otherwise a missing one stops start-up. */
  createInputTopics: boolean;
  /** `enforce`: a topic that breaks a precondition (stream/topic-preconditions.ts) stops start-up; `warn`: it is logged. */
  topicPreconditions: 'enforce' | 'warn';
  /** How long a membership batch waits for the approval cache to catch up before warning (it keeps waiting). */
  approvalCatchUpWarnMs: number;
  /** Automatic freezes allowed per window, across all instances (0 = no limit). */
  freezeBudget: number;
  /** Length of a freeze-budget window, in seconds. */
  freezeBudgetWindowSeconds: number;
  /** TLS to the brokers: the PEM files, read at start-up (see KafkaTls). */
  kafkaTls: KafkaTls | null;
  /** SASL authentication to the brokers. */
  kafkaSasl: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string } | null;
  /** How far an event's occurredAt may lie ahead of its record's Kafka timestamp before it is judged as of that timestamp, in seconds. */
  maxClockSkewSeconds: number;
  /** Bearer token for /admin endpoints; null disables them. */
  adminToken: string | null;
}

/** TLS settings, with the PEM files already read (an unreadable one is a ConfigError at load). */
export interface KafkaTls {
  /** KAFKA_TLS_CA_FILE, or null for the system CAs. */
  caFile: string | null;
  /** That file's certificates (PEM). */
  ca: string | null;
  /** KAFKA_TLS_CERT_FILE: the client certificate for mTLS, or null for none. */
  certFile: string | null;
  /** That file's certificate chain (PEM). */
  cert: string | null;
  /** KAFKA_TLS_KEY_FILE's private key (PEM), present exactly when `cert` is. */
  key: string | null;
}

/**
 * Secrets that may instead be given as `<NAME>_FILE`, a path whose trimmed contents are the
 * value, as container platforms mount secrets. REDIS_URL carries Redis's user and password, so
 * REDIS_URL_FILE is how a Redis password is kept out of the environment.
 */
export const FILE_SECRETS = [
  'KAFKA_SASL_USERNAME',
  'KAFKA_SASL_PASSWORD',
  'PAIRGUARD_ADMIN_TOKEN',
  'REDIS_URL',
] as const;

const topicName = z
  .string()
  .regex(/^[a-zA-Z0-9._-]{1,249}$/, 'must be a Kafka topic name (letters, digits, ".", "_", "-")');

const port = z.coerce.number().int().min(0).max(65535);

const schema = z.object({
  KAFKA_BROKERS: z
    .string()
    .default('127.0.0.1:9092')
    .transform((s) =>
      s
        .split(',')
        .map((b) => b.trim())
        .filter(Boolean),
    )
    .pipe(
      z
        .array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'each broker must be host:port'))
        .min(1, 'must name at least one broker'),
    ),
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
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[^{}\s]*$/, 'must not contain braces or spaces')
    .default('pg:'),
  PAIRGUARD_MODE: z.enum(['enforce', 'alert-only']).default('enforce'),
  PAIRGUARD_GROUP_ID: z
    .string()
    .regex(/^\S{1,200}$/, 'must be 1-200 characters without spaces')
    .default('pairguard'),
  HTTP_PORT: port.default(9464),
  HTTP_HOST: z
    .union([z.ipv4(), z.ipv6(), z.hostname()], { error: 'must be an IP address or a host name' })
    .default('0.0.0.0'),
  PAIRGUARD_STALL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  TOPIC_APPROVALS: topicName.default(DEFAULT_TOPICS.approvals),
  TOPIC_MEMBERSHIP: topicName.default(DEFAULT_TOPICS.membership),
  TOPIC_MESSAGES: topicName.default(DEFAULT_TOPICS.messages),
  TOPIC_ALERTS: topicName.default(DEFAULT_TOPICS.alerts),
  TOPIC_CONTROL: topicName.default(DEFAULT_TOPICS.control),
  TOPIC_DEAD_LETTER: topicName.default(DEFAULT_TOPICS.deadLetter),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PAIRGUARD_MAX_EVENT_BYTES: z.coerce
    .number()
    .int()
    .min(256)
    .default(256 * 1024),
  PAIRGUARD_MAX_CHAT_MEMBERS: z.coerce.number().int().min(2).default(1000),
  PAIRGUARD_CREATE_TOPICS_PARTITIONS: z.coerce.number().int().min(0).max(10000).default(3),
  PAIRGUARD_CREATE_INPUT_TOPICS: z.enum(['true', 'false']).default('false'),
  PAIRGUARD_TOPIC_PRECONDITIONS: z.enum(['enforce', 'warn']).default('enforce'),
  PAIRGUARD_APPROVAL_CATCHUP_WARN_MS: z.coerce.number().int().min(100).default(10_000),
  PAIRGUARD_FREEZE_BUDGET: z.coerce.number().int().min(0).default(1000),
  PAIRGUARD_FREEZE_BUDGET_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  KAFKA_TLS: z.enum(['true', 'false']).default('false'),
  KAFKA_TLS_CA_FILE: z.string().min(1).optional(),
  KAFKA_TLS_CERT_FILE: z.string().min(1).optional(),
  KAFKA_TLS_KEY_FILE: z.string().min(1).optional(),
  KAFKA_SASL_MECHANISM: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
  KAFKA_SASL_USERNAME: z.string().min(1).optional(),
  PAIRGUARD_MAX_CLOCK_SKEW: z.coerce.number().int().min(0).max(86_400).default(300),
  KAFKA_SASL_PASSWORD: z.string().min(1).optional(),
  PAIRGUARD_ADMIN_TOKEN: z.string().min(24, 'must be at least 24 characters').optional(),
});

/** Every variable loadConfig reads (besides the `<NAME>_FILE` forms of FILE_SECRETS). */
export const SETTINGS = Object.keys(schema.shape) as ReadonlyArray<keyof typeof schema.shape>;

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

/** Reads configuration from an environment; throws ConfigError on the first bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Treat empty strings as unset, as shells and compose files often pass them.
  const cleaned = Object.fromEntries(
    Object.entries(env).filter((kv): kv is [string, string] => kv[1] !== undefined && kv[1] !== ''),
  );
  const fromFiles = readSecretFiles(cleaned);
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const name = String(issue.path[0] ?? 'environment');
    const shown = cleaned[name] === undefined ? '' : ` (got ${JSON.stringify(redactSecret(name, cleaned[name]!))})`;
    const source = fromFiles.has(name) ? ` (from ${name}_FILE)` : '';
    throw new ConfigError(`invalid ${name}${source}: ${issue.message}${shown}`);
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
    throw new ConfigError(
      `invalid ${e.KAFKA_SASL_USERNAME ? 'KAFKA_SASL_PASSWORD' : 'KAFKA_SASL_USERNAME'}: required when KAFKA_SASL_MECHANISM is set`,
    );
  }
  // Credentials without a mechanism would be ignored, and the broker's refusal would then be a puzzle.
  if (!e.KAFKA_SASL_MECHANISM && (e.KAFKA_SASL_USERNAME || e.KAFKA_SASL_PASSWORD)) {
    throw new ConfigError(
      'invalid KAFKA_SASL_MECHANISM: required when KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD is set (plain, scram-sha-256 or scram-sha-512)',
    );
  }
  const inputs = [topics.approvals, topics.membership, topics.messages];
  if (new Set(inputs).size !== inputs.length)
    throw new ConfigError(
      'invalid TOPIC_APPROVALS/TOPIC_MEMBERSHIP/TOPIC_MESSAGES: the three input topics must differ',
    );
  return {
    kafkaBrokers: e.KAFKA_BROKERS,
    kafkaClientId: e.KAFKA_CLIENT_ID,
    kafkaOutputCompression: e.KAFKA_OUTPUT_COMPRESSION,
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    mode: e.PAIRGUARD_MODE,
    groupId: e.PAIRGUARD_GROUP_ID,
    httpPort: e.HTTP_PORT,
    httpHost: e.HTTP_HOST,
    stallSeconds: e.PAIRGUARD_STALL_SECONDS,
    topics,
    logLevel: e.LOG_LEVEL,
    maxEventBytes: e.PAIRGUARD_MAX_EVENT_BYTES,
    maxChatMembers: e.PAIRGUARD_MAX_CHAT_MEMBERS,
    createTopicsPartitions: e.PAIRGUARD_CREATE_TOPICS_PARTITIONS,
    createInputTopics: e.PAIRGUARD_CREATE_INPUT_TOPICS === 'true',
    topicPreconditions: e.PAIRGUARD_TOPIC_PRECONDITIONS,
    approvalCatchUpWarnMs: e.PAIRGUARD_APPROVAL_CATCHUP_WARN_MS,
    freezeBudget: e.PAIRGUARD_FREEZE_BUDGET,
    freezeBudgetWindowSeconds: e.PAIRGUARD_FREEZE_BUDGET_WINDOW_SECONDS,
    maxClockSkewSeconds: e.PAIRGUARD_MAX_CLOCK_SKEW,
    kafkaTls: kafkaTls(e),
    kafkaSasl: e.KAFKA_SASL_MECHANISM
      ? { mechanism: e.KAFKA_SASL_MECHANISM, username: e.KAFKA_SASL_USERNAME!, password: e.KAFKA_SASL_PASSWORD! }
      : null,
    adminToken: e.PAIRGUARD_ADMIN_TOKEN ?? null,
  };
}

/**
 * Replaces each `<NAME>_FILE` of FILE_SECRETS by `<NAME>` with the file's trimmed contents, in
 * place; returns the names read from files.
 */
function readSecretFiles(env: Record<string, string>): Set<string> {
  const read = new Set<string>();
  for (const name of FILE_SECRETS) {
    const file = env[`${name}_FILE`];
    if (file === undefined) continue;
    if (env[name] !== undefined)
      throw new ConfigError(`invalid ${name}_FILE: ${name} is set too; set only one of them`);
    const value = readSettingFile(`${name}_FILE`, file).trim();
    if (value === '') throw new ConfigError(`invalid ${name}_FILE: ${file} is empty`);
    env[name] = value;
    delete env[`${name}_FILE`];
    read.add(name);
  }
  return read;
}

function readSettingFile(variable: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const { code, message } = err as NodeJS.ErrnoException;
    throw new ConfigError(`invalid ${variable}: cannot read ${file} (${code ?? message})`);
  }
}

/** KAFKA_TLS*, with the PEM files read and checked: a client certificate and its key come together and match. */
function kafkaTls(e: z.infer<typeof schema>): KafkaTls | null {
  const { KAFKA_TLS_CA_FILE: caFile, KAFKA_TLS_CERT_FILE: certFile, KAFKA_TLS_KEY_FILE: keyFile } = e;
  if (e.KAFKA_TLS !== 'true' && !caFile && !certFile && !keyFile) return null;
  if (Boolean(certFile) !== Boolean(keyFile)) {
    throw new ConfigError(
      `invalid ${certFile ? 'KAFKA_TLS_KEY_FILE' : 'KAFKA_TLS_CERT_FILE'}: a client certificate needs both KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE`,
    );
  }
  const ca = caFile ? pemCertificates('KAFKA_TLS_CA_FILE', caFile) : null;
  const cert = certFile ? pemCertificates('KAFKA_TLS_CERT_FILE', certFile) : null;
  let key: string | null = null;
  if (certFile && keyFile) {
    key = readSettingFile('KAFKA_TLS_KEY_FILE', keyFile);
    let privateKey;
    try {
      privateKey = createPrivateKey(key);
    } catch {
      throw new ConfigError(`invalid KAFKA_TLS_KEY_FILE: ${keyFile} holds no unencrypted PEM private key`);
    }
    if (!new X509Certificate(cert!).checkPrivateKey(privateKey)) {
      throw new ConfigError(
        `invalid KAFKA_TLS_KEY_FILE: ${keyFile} is not the key of the certificate in KAFKA_TLS_CERT_FILE`,
      );
    }
  }
  return { caFile: caFile ?? null, ca, certFile: certFile ?? null, cert, key };
}

/** A file's PEM text, once it is known to start with a certificate Node can parse. */
function pemCertificates(variable: string, file: string): string {
  const text = readSettingFile(variable, file);
  try {
    new X509Certificate(text);
  } catch {
    throw new ConfigError(`invalid ${variable}: ${file} holds no PEM certificate`);
  }
  return text;
}

function redactSecret(name: string, value: string): string {
  if (/PASSWORD|TOKEN/.test(name)) return '***';
  if (name !== 'REDIS_URL') return value.slice(0, 80);
  return value.replace(/\/\/[^@/]*@/, '//***@').slice(0, 80);
}
