/** Creates the topics pairguard reads and writes when they are missing. */
import type { Admin } from 'kafkajs';
import type { Topics } from '../config.js';

export async function ensureTopics(admin: Admin, topics: Topics, partitions: number): Promise<string[]> {
  if (partitions === 0) return [];
  const existing = new Set(await admin.listTopics());
  const missing = [...new Set(Object.values(topics))].filter((t) => !existing.has(t));
  if (missing.length === 0) return [];
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: -1 })),
  });
  return missing;
}
