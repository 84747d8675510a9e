/** Creates topics pairguard reads or writes when they are missing. */
import type { Admin } from 'kafkajs';
import type { TopicRole, Topics } from '../config.js';
import { HISTORY_TOPICS, KEEP_HISTORY } from './topic-preconditions.js';

/** How long new topics may take to serve every partition before creation counts as failed. */
const SERVING_TIMEOUT_MS = 15_000;

/**
 * Creates the missing topics among `roles` (all six by default) with `partitions` each; the topics
 * the state is rebuilt from keep their whole history (topic-preconditions.ts). Returns those created.
 */
export async function ensureTopics(
  admin: Admin,
  topics: Topics,
  partitions: number,
  roles: readonly TopicRole[] = Object.keys(topics) as TopicRole[],
): Promise<string[]> {
  if (partitions === 0) return [];
  const existing = new Set(await admin.listTopics());
  const missing = [...new Set(roles.map((r) => topics[r]))].filter((t) => !existing.has(t));
  if (missing.length === 0) return [];
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map((topic) => ({
      topic,
      numPartitions: partitions,
      replicationFactor: -1,
      configEntries: creationConfig(topics, topic),
    })),
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

/**
 * The configs to create `topic` with: `extra` (say compression.type), and for a topic the state is
 * rebuilt from, the settings that keep its whole history, which the start-up check requires.
 */
export function creationConfig(
  topics: Topics,
  topic: string,
  extra: ReadonlyArray<{ name: string; value: string }> = [],
): Array<{ name: string; value: string }> {
  const history = HISTORY_TOPICS.some((r) => topics[r] === topic);
  const kept = history ? Object.entries(KEEP_HISTORY).map(([name, value]) => ({ name, value })) : [];
  return [...kept.filter((k) => !extra.some((e) => e.name === k.name)), ...extra];
}
