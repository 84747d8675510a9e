/**
 * `pairguard replay FILE.jsonl`: writes each line's event to the topic its type belongs to, keyed
 * as the platform keys it, in file order. A line may instead be a raw record
 * `{"$topic": "<role>", "$key"?: string, "$value"?: string, "$valueBase64"?: string}` with role one
 * of approvals, membership, messages, control, so tests can replay malformed bytes too.
 */
import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { SingleBar } from 'cli-progress';
import type { Kafka, Message } from 'kafkajs';
import type { Topics, TopicRole } from '../config.js';
import { PairguardError } from '../errors.js';
import { routeOf } from '../events/routing.js';
import { ensureTopics } from '../stream/topics.js';

const CHUNK = 500;
const ROLES = new Set<TopicRole>(['approvals', 'membership', 'messages', 'control']);

export interface ReplayOptions {
  kafka: Kafka;
  topics: Topics;
  file: string;
  /** Partitions for topics that do not exist yet (0 = do not create). */
  createPartitions: number;
  /** Show a progress bar (on a terminal). */
  progress: boolean;
}

export interface ReplaySummary {
  records: number;
  byRole: Partial<Record<TopicRole, number>>;
  seconds: number;
}

export function parseLine(line: string, lineNo: number): { role: TopicRole; message: Message } | null {
  const trimmed = line.trim();
  if (trimmed === '') return null;
  let obj: unknown;
  try {
    obj = JSON.parse(trimmed);
  } catch {
    throw new PairguardError('REPLAY_INPUT_INVALID', `line ${lineNo}: not valid JSON`);
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new PairguardError('REPLAY_INPUT_INVALID', `line ${lineNo}: not a JSON object`);
  }
  const o = obj as Record<string, unknown>;
  if ('$topic' in o) {
    const role = o.$topic as TopicRole;
    if (!ROLES.has(role)) throw new PairguardError('REPLAY_INPUT_INVALID', `line ${lineNo}: $topic must be one of ${[...ROLES].join(', ')}`);
    const value =
      typeof o.$valueBase64 === 'string' ? Buffer.from(o.$valueBase64, 'base64') : typeof o.$value === 'string' ? Buffer.from(o.$value, 'utf8') : null;
    return { role, message: { key: typeof o.$key === 'string' ? o.$key : null, value } };
  }
  const route = routeOf(o);
  if (!route) throw new PairguardError('REPLAY_INPUT_INVALID', `line ${lineNo}: unknown event type ${JSON.stringify(o.type)}`);
  return { role: route.role, message: { key: route.key, value: trimmed } };
}

export async function replayFile(opts: ReplayOptions): Promise<ReplaySummary> {
  const started = Date.now();
  const size = statSync(opts.file).size;
  const admin = opts.kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, opts.topics, opts.createPartitions);
  } finally {
    await admin.disconnect();
  }
  const producer = opts.kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const bar = opts.progress ? new SingleBar({ format: 'replay [{bar}] {percentage}% | {records} records | {eta_formatted} left', hideCursor: true }) : null;
  bar?.start(size, 0, { records: 0 });

  const summary: ReplaySummary = { records: 0, byRole: {}, seconds: 0 };
  let chunk: Array<{ role: TopicRole; message: Message }> = [];
  let bytes = 0;
  const flush = async () => {
    if (chunk.length === 0) return;
    // One topic's records keep their file order inside a produce request; chunks go one after another.
    const byTopic = new Map<string, Message[]>();
    for (const { role, message } of chunk) {
      const topic = opts.topics[role];
      const list = byTopic.get(topic);
      if (list) list.push(message);
      else byTopic.set(topic, [message]);
    }
    await producer.sendBatch({ topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })), acks: -1 });
    chunk = [];
    bar?.update(bytes, { records: summary.records });
  };
  try {
    const lines = createInterface({ input: createReadStream(opts.file), crlfDelay: Infinity });
    let lineNo = 0;
    for await (const line of lines) {
      lineNo++;
      bytes += Buffer.byteLength(line) + 1;
      const parsed = parseLine(line, lineNo);
      if (!parsed) continue;
      chunk.push(parsed);
      summary.records++;
      summary.byRole[parsed.role] = (summary.byRole[parsed.role] ?? 0) + 1;
      if (chunk.length >= CHUNK) await flush();
    }
    await flush();
  } finally {
    bar?.stop();
    await producer.disconnect();
  }
  summary.seconds = (Date.now() - started) / 1000;
  return summary;
}
