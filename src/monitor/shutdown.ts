/**
 * Shutdown in one place: each consumer stops fetching, finishes the batches in flight, commits
 * what they judged and leaves its group; then the producer, the admin client, Redis and HTTP
 * close. Every step runs even when an earlier one fails, each bounded by a timeout.
 */
import type { Server } from 'node:http';
import type { Admin, Producer } from 'kafkajs';
import type { Logger } from '../observability/logger.js';
import type { RedisClient } from '../state/redis-client.js';
import type { ConsumerSlot } from './consumer-slots.js';

const SHUTDOWN_STEP_MS = 10_000;

/** What the monitor holds open. */
export interface OpenParts {
  consumers: readonly ConsumerSlot[];
  producer: Producer;
  admin: Admin;
  redis: RedisClient;
  http: Server;
}

export async function closeAll(parts: OpenParts, logger: Logger): Promise<void> {
  const failures: string[] = [];
  const step = async (name: string, fn: () => Promise<unknown>) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        fn(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out after ${SHUTDOWN_STEP_MS} ms`)), SHUTDOWN_STEP_MS);
        }),
      ]);
    } catch (err) {
      failures.push(`${name}: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  };
  await Promise.all(
    parts.consumers.map(async (slot) => {
      await step(`${slot.name} consumer drain`, () => drain(slot));
      await step(`${slot.name} consumer`, () => slot.consumer.disconnect());
    }),
  );
  await step('producer', () => parts.producer.disconnect());
  await step('admin', () => parts.admin.disconnect());
  await step('redis', () => parts.redis.quit());
  await step('http', () => {
    const closed = new Promise<void>((resolve, reject) => parts.http.close((err) => (err ? reject(err) : resolve())));
    parts.http.closeAllConnections();
    return closed;
  });
  if (failures.length > 0) logger.warn({ failures }, 'pairguard stopped with errors');
  else logger.info('pairguard stopped');
}

/** Stops fetching, waits for the batches in flight, commits what they judged. */
async function drain(slot: ConsumerSlot): Promise<void> {
  // A consumer that never started running has nothing to pause or commit.
  try {
    slot.consumer.pause(slot.topics.map((topic) => ({ topic })));
  } catch {
    return;
  }
  while (slot.inFlight > 0) await new Promise((r) => setTimeout(r, 5));
  await slot.commits.flush();
}
