/**
 * What pairguard asks of the topics before it judges anything. Redis holds a cache of the input
 * topics; when Redis loses it, the topics are the only copy. So the topics whose history the state
 * is built from must keep every record, and a topic that is not there is a mistake (a typo in
 * TOPIC_APPROVALS would otherwise give an empty topic in which every pair looks unapproved).
 */
import type { Admin } from 'kafkajs';
import kafkajs from 'kafkajs';
import type { TopicRole, Topics } from '../config.js';
import { TOPIC_SETTINGS } from '../config.js';

/**
 * The topics a rebuild after state loss reads whole: the facts (approvals, members, reviewers'
 * unfreezes and breaker resets) and what pairguard already wrote (alerts, and freezes on the
 * control topic), so it is not written again. Each must keep every record.
 */
export const HISTORY_TOPICS: readonly TopicRole[] = ['approvals', 'membership', 'control', 'alerts'];

/** Why a history topic must keep everything, in its refusal. */
const WHY_KEPT: Partial<Record<TopicRole, string>> = {
  approvals: "pairguard rebuilds its state from this topic's whole history when Redis loses it",
  membership: "pairguard rebuilds its state from this topic's whole history when Redis loses it",
  control:
    "pairguard rebuilds its state from this topic's whole history (reviewers' unfreezes, its own freezes) when Redis loses it",
  alerts: 'a rebuild after Redis loses its state reads back the alerts already written, so as not to write them again',
};
/** Topics pairguard reads: they must exist before it starts, unless it is told to create them. */
export const INPUT_TOPICS: readonly TopicRole[] = ['approvals', 'membership', 'messages', 'control'];
/** Topics pairguard writes. */
export const OUTPUT_TOPICS: readonly TopicRole[] = ['alerts', 'control', 'deadLetter'];

/** The settings that keep a topic's whole history: what pairguard creates its history topics with. */
export const KEEP_HISTORY: Readonly<Record<string, string>> = {
  'retention.ms': '-1',
  'retention.bytes': '-1',
  'cleanup.policy': 'delete',
};

/** What the broker says about one topic. */
export interface TopicFacts {
  topic: string;
  partitions: number;
  replicationFactor: number;
  /** retention.ms, retention.bytes, cleanup.policy, min.insync.replicas as the broker reports them. */
  configs: Readonly<Record<string, string | undefined>>;
}

/** A topic that breaks a precondition. */
export interface TopicViolation {
  role: TopicRole;
  topic: string;
  /** missing: an input topic that does not exist; history: one that loses records; replicas: too few for min.insync.replicas. */
  kind: 'missing' | 'history' | 'replicas';
  /** One line naming the topic, the setting at fault and what to do. */
  message: string;
}

export interface TopicReport {
  violations: TopicViolation[];
  /** What was found, for the start-up log (replication and min.insync.replicas are reported, not judged). */
  topics: Array<{
    role: TopicRole;
    topic: string;
    partitions: number;
    replicationFactor: number;
    minInsyncReplicas: number | null;
    retentionMs: string | null;
    cleanupPolicy: string | null;
  }>;
}

const DEMO_HINT = 'or PAIRGUARD_TOPIC_PRECONDITIONS=warn for a local demo';

/** Judges the topics as the broker describes them; `facts` lacks the topics that do not exist. */
export function judgeTopics(topics: Topics, facts: ReadonlyMap<string, TopicFacts>): TopicReport {
  const violations: TopicViolation[] = [];
  const report: TopicReport['topics'] = [];
  const roles = Object.keys(topics) as TopicRole[];
  for (const role of roles) {
    const topic = topics[role];
    const f = facts.get(topic);
    const named = `${describeRole(role)} ${topic} (${TOPIC_SETTINGS[role]})`;
    if (!f) {
      if (INPUT_TOPICS.includes(role)) {
        violations.push({
          role,
          topic,
          kind: 'missing',
          message: `${named} does not exist: create it (retention.ms=-1) or correct ${TOPIC_SETTINGS[role]}; PAIRGUARD_CREATE_INPUT_TOPICS=true creates it for a local demo`,
        });
      }
      continue;
    }
    const minInsync = numberOrNull(f.configs['min.insync.replicas']);
    report.push({
      role,
      topic,
      partitions: f.partitions,
      replicationFactor: f.replicationFactor,
      minInsyncReplicas: minInsync,
      retentionMs: f.configs['retention.ms'] ?? null,
      cleanupPolicy: f.configs['cleanup.policy'] ?? null,
    });
    if (HISTORY_TOPICS.includes(role)) {
      const fault = historyFault(f);
      if (fault) {
        violations.push({
          role,
          topic,
          kind: 'history',
          message: `${named} ${fault}: ${WHY_KEPT[role]}; set retention.ms=-1, retention.bytes=-1 and cleanup.policy=delete on it, ${DEMO_HINT}`,
        });
      }
    }
    // acks=all with fewer replicas than min.insync.replicas refuses every write.
    if (OUTPUT_TOPICS.includes(role) && minInsync !== null && f.replicationFactor < minInsync) {
      violations.push({
        role,
        topic,
        kind: 'replicas',
        message: `${named} has ${f.replicationFactor} replica(s) but min.insync.replicas=${minInsync}: every write pairguard makes to it would be refused; lower min.insync.replicas or add replicas`,
      });
    }
  }
  return { violations, topics: report };
}

/** Why a history topic may lose records, or null when it keeps them all. */
function historyFault(f: TopicFacts): string | null {
  const policy = (f.configs['cleanup.policy'] ?? 'delete').split(',').map((p) => p.trim());
  if (policy.includes('compact'))
    return `is compacted (cleanup.policy=${f.configs['cleanup.policy']}), which drops all but a key's last record`;
  const ms = f.configs['retention.ms'];
  if (ms !== undefined && ms !== '-1') return `deletes records after ${humanMs(Number(ms))} (retention.ms=${ms})`;
  const bytes = f.configs['retention.bytes'];
  if (bytes !== undefined && bytes !== '-1')
    return `deletes its oldest records beyond ${bytes} bytes a partition (retention.bytes=${bytes})`;
  return null;
}

function describeRole(role: TopicRole): string {
  return INPUT_TOPICS.includes(role) ? 'input topic' : 'output topic';
}

function numberOrNull(s: string | undefined): number | null {
  if (s === undefined) return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}

function humanMs(ms: number): string {
  const days = ms / 86_400_000;
  if (days >= 1) return `${Number(days.toFixed(1))} days`;
  const hours = ms / 3_600_000;
  if (hours >= 1) return `${Number(hours.toFixed(1))} hours`;
  return `${ms} ms`;
}

/** Reads what `judgeTopics` needs from the broker: metadata and four configs of each existing topic. */
export async function describeTopics(admin: Admin, topics: Topics): Promise<Map<string, TopicFacts>> {
  const names = [...new Set(Object.values(topics))];
  const existing = new Set(await admin.listTopics());
  const present = names.filter((t) => existing.has(t));
  const facts = new Map<string, TopicFacts>();
  if (present.length === 0) return facts;
  const [metadata, described] = await Promise.all([
    admin.fetchTopicMetadata({ topics: present }),
    admin.describeConfigs({
      includeSynonyms: false,
      resources: present.map((name) => ({
        type: kafkajs.ConfigResourceTypes.TOPIC,
        name,
        configNames: ['retention.ms', 'retention.bytes', 'cleanup.policy', 'min.insync.replicas'],
      })),
    }),
  ]);
  const configs = new Map(
    described.resources.map((r) => [
      r.resourceName,
      Object.fromEntries(r.configEntries.map((e) => [e.configName, e.configValue])),
    ]),
  );
  for (const t of metadata.topics) {
    facts.set(t.name, {
      topic: t.name,
      partitions: t.partitions.length,
      replicationFactor: Math.min(...t.partitions.map((p) => p.replicas.length)),
      configs: configs.get(t.name) ?? {},
    });
  }
  return facts;
}
