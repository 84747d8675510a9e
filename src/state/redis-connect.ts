/**
 * The first connection to Redis. ioredis rejects `connect()` with a bare "Connection is closed."
 * and reports why (WRONGPASS, NOAUTH) only as an 'error' event, so this listens for that reason;
 * a refused login becomes a ConfigError naming REDIS_URL, where Redis's user and password live.
 */
import { ConfigError } from '../errors.js';
import type { RedisClient } from './redis-client.js';

/** Names REDIS_URL for an authentication error from Redis; returns `err` itself for anything else. */
export function redisConnectError(err: unknown): unknown {
  const message = (err as Error | undefined)?.message ?? '';
  if (message.startsWith('WRONGPASS'))
    return new ConfigError('invalid REDIS_URL: Redis rejected its user and password (WRONGPASS)');
  if (message.startsWith('NOAUTH'))
    return new ConfigError('invalid REDIS_URL: Redis requires a password and the URL has none (NOAUTH)');
  if (message.startsWith('NOPERM'))
    return new ConfigError(
      `invalid REDIS_URL: its Redis user lacks a permission pairguard needs (${message.split('\n')[0]}; see README, Secured clusters)`,
    );
  return err;
}

/** Connects a lazily-connecting client, failing with the reason Redis gave. */
export async function connectRedis(client: RedisClient): Promise<void> {
  let lastError: Error | null = null;
  const remember = (err: Error) => {
    lastError = err;
  };
  // A cluster reports each node's failure as 'node error'.
  client.on('error', remember).on('node error', remember);
  try {
    await client.connect();
  } catch (err) {
    throw redisConnectError(lastError ?? err);
  } finally {
    client.off('error', remember).off('node error', remember);
  }
}
