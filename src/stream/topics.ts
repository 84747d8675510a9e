/** Creates the topics pairguard reads and writes when they are missing. */
import type { Admin } from 'kafkajs';
import type { Topics } from '../config.js';

/** How long new topics may take to serve every partition before creation counts as failed. */
const SERVING_TIMEOUT_MS = 15_000;

export async function ensureTopics(admin: Admin, topics: Topics, partitions: number): Promise<string[]> {
  if (partitions === 0) return [];
  const existing = new Set(await admin.listTopics());
  const missing = [...new Set(Object.values(topics))].filter((t) => !existing.has(t));
  if (missing.length === 0) return [];
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: -1 })),
  });
  await untilServing(admin, missing);
  return missing;
}

/**
 * Leaders are named before they serve: a produce sent at once can fail on one partition ("not the
 * leader"), and kafkajs then retries the whole request, writing the records of the partitions
 * that did succeed twice. Waits until every partition answers a ListOffsets.
 */
async function untilServing(admin: Admin, topics: readonly string[]): Promise<void> {
  const deadline = Date.now() + SERVING_TIMEOUT_MS;
  for (;;) {
    try {
      await Promise.all(topics.map((t) => admin.fetchTopicOffsets(t)));
      return;
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`new topics did not serve every partition within ${SERVING_TIMEOUT_MS} ms`, { cause: err });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
