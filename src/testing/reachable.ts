/**
 * Before a test environment is set up: does a Kafka broker and a Redis answer? kafkajs retries a
 * refused connection for a quarter of a minute and ioredis for ever, so without this a suite run
 * with nothing started hangs until its own timeout with no word about what is missing.
 */
import { connect } from 'node:net';
import type { Admin } from 'kafkajs';
import type { Config } from '../config.js';
import { PairguardError } from '../errors.js';
import { createRedis } from '../state/redis-client.js';
import { connectKafka, kafkaConnectError } from '../stream/connect-errors.js';

/** Resolves when a TCP connection to host:port is accepted within `timeoutMs`. */
function tcpConnect(address: string, timeoutMs: number): Promise<void> {
  const colon = address.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: address.slice(0, colon),
      port: Number(address.slice(colon + 1)),
      timeout: timeoutMs,
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    });
    socket.once('error', (err) => reject(err));
  });
}

/** A PING answered within `timeoutMs`, which also proves the URL's credentials are accepted. */
async function redisPing(redisUrl: string, timeoutMs: number): Promise<void> {
  const redis = createRedis(redisUrl, { lazyConnect: true });
  let lastError: Error | null = null;
  redis.on('error', (err: Error) => (lastError = err));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(lastError ?? new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([redis.connect().then(() => redis.ping()), timeout]);
  } catch (err) {
    // ioredis rejects with "Connection is closed."; the error before it says why.
    throw lastError ?? err;
  } finally {
    clearTimeout(timer);
    redis.disconnect();
  }
}

/** The URL without its password, for an error message. */
function withoutPassword(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

const reason = (err: unknown) =>
  (err instanceof AggregateError ? err.errors : [err]).map((e) => (e as Error).message).join('; ');

/**
 * Throws one line naming what did not answer and how to start it. Kafka counts as up when one
 * bootstrap broker accepts a connection, as it does for kafkajs.
 */
export async function assertReachable(brokers: readonly string[], redisUrl: string, timeoutMs: number): Promise<void> {
  const [kafka, redis] = await Promise.allSettled([
    Promise.any(brokers.map((b) => tcpConnect(b, timeoutMs))),
    redisPing(redisUrl, timeoutMs),
  ]);
  const problems: string[] = [];
  if (kafka.status === 'rejected') {
    problems.push(
      `no Kafka broker answers at ${brokers.join(',')} (${reason(kafka.reason)}): start one (\`npm run services\` in a pairguard clone, ` +
        "or Testcontainers' KafkaContainer) and pass its address as `brokers`",
    );
  }
  if (redis.status === 'rejected') {
    problems.push(
      `no Redis answers at ${withoutPassword(redisUrl)} (${reason(redis.reason)}): start one (\`redis-server\`, ` +
        "or Testcontainers' RedisContainer) and pass its URL as `redisUrl`",
    );
  }
  if (problems.length === 0) return;
  const code = kafka.status === 'rejected' ? 'KAFKA_UNAVAILABLE' : 'REDIS_UNAVAILABLE';
  throw new PairguardError(code, `pairguard/testing: ${problems.join('; ')}`, { retriable: true });
}

/**
 * `admin.connect()`, bounded: a port that accepts connections but does not speak Kafka, or not
 * with these TLS settings, would otherwise hold the caller for kafkajs's retries, a quarter of a
 * minute. `lastError` is the reason kafkajs logged for its last failed attempt, if any.
 */
export async function connectAdmin(
  admin: Admin,
  config: Config,
  timeoutMs: number,
  lastError: () => string | null,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  // A refused password or certificate becomes one line naming the setting, as for `pairguard run`.
  const connecting = connectKafka(admin, config);
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  try {
    if ((await Promise.race([connecting, timeout])) !== 'timeout') return;
  } finally {
    clearTimeout(timer);
  }
  // kafkajs keeps retrying in the background; its outcome no longer matters.
  connecting.catch(() => undefined);
  void admin.disconnect().catch(() => undefined);
  const last = lastError();
  const named = last ? kafkaConnectError(new Error(last), config) : null;
  if (named instanceof PairguardError) throw named;
  const brokers = config.kafkaBrokers.join(',');
  throw new PairguardError(
    'KAFKA_UNAVAILABLE',
    last
      ? `pairguard/testing: no Kafka connection to ${brokers} within ${timeoutMs} ms: ${last}`
      : `pairguard/testing: ${brokers} accepted a connection but did not answer as a Kafka broker within ${timeoutMs} ms (is it a Kafka listener, without TLS if none is set?)`,
    { retriable: true },
  );
}
