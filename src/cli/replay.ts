/**
 * `pairguard replay FILE.jsonl`: writes each line's event to the topic its type belongs to, keyed
 * as the platform keys it, in file order. A line may instead be a raw record
 * `{"$topic": "<role>", "$key"?: string, "$value"?: string, "$valueBase64"?: string}` with role one
 * of approvals, membership, messages, control, so tests can replay malformed bytes too.
 * `--rate` paces the writes (events per second) to play history back in real time or faster.
 */
import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Kafka, Message } from 'kafkajs';
import type { Topics, TopicRole } from '../config.js';
import { PairguardError } from '../errors.js';
import { routeOf } from '../events/routing.js';
import { ensureTopics } from '../stream/topics.js';
import { progressBar } from './progress.js';

/** Records per produce request: large batches, because a history of millions must replay in minutes. */
const CHUNK = 2_000;
const ROLES = new Set<TopicRole>(['approvals', 'membership', 'messages', 'control']);

export interface ReplayOptions {
  kafka: Kafka;
  topics: Topics;
  file: string;
  /** Partitions for topics that do not exist yet (0 = do not create). */
  createPartitions: number;
  /** Show a progress bar (on a terminal). */
  progress: boolean;
  /** Events per second to play back at (history in real time, or faster); unset = as fast as possible. */
  rate?: number;
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
    if (!ROLES.has(role))
      throw new PairguardError(
        'REPLAY_INPUT_INVALID',
        `line ${lineNo}: $topic must be one of ${[...ROLES].join(', ')}`,
      );
    const value =
      typeof o.$valueBase64 === 'string'
        ? Buffer.from(o.$valueBase64, 'base64')
        : typeof o.$value === 'string'
          ? Buffer.from(o.$value, 'utf8')
          : null;
    return { role, message: { key: typeof o.$key === 'string' ? o.$key : null, value } };
  }
  const route = routeOf(o);
  if (!route)
    throw new PairguardError('REPLAY_INPUT_INVALID', `line ${lineNo}: unknown event type ${JSON.stringify(o.type)}`);
  return { role: route.role, message: { key: route.key, value: trimmed } };
}

export async function replayFile(opts: ReplayOptions): Promise<ReplaySummary> {
  const size = statSync(opts.file).size;
  const bar = progressBar(
    opts.progress,
    'replay [{bar}] {percentage}% | {records} records | {rate}/s | {eta_formatted} left',
  );
  bar.start(size);
  try {
    return await replayLines(
      { ...opts, onProgress: (bytes, records) => bar.update(bytes, { records, items: records }) },
      fileLines(opts.file),
    );
  } finally {
    bar.stop();
  }
}

/**
 * The file's lines, opened only when iteration starts: a readline interface drops the lines (and
 * its close) emitted before anyone iterates, and the topics are set up before the first line is read.
 */
async function* fileLines(file: string): AsyncGenerator<string> {
  yield* createInterface({ input: createReadStream(file), crlfDelay: Infinity });
}

export interface ReplayLinesOptions {
  kafka: Kafka;
  topics: Topics;
  /** Partitions for topics that do not exist yet (0 = do not create). */
  createPartitions: number;
  /** Events per second; unset = as fast as possible. */
  rate?: number;
  /** Called after each produce request with the bytes and records done so far. */
  onProgress?: (bytes: number, records: number) => void;
}

/** Writes JSONL lines (events or raw records) to their topics, in order. */
export async function replayLines(
  opts: ReplayLinesOptions,
  lines: AsyncIterable<string> | Iterable<string>,
): Promise<ReplaySummary> {
  const started = Date.now();
  const admin = opts.kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, opts.topics, opts.createPartitions);
  } finally {
    await admin.disconnect();
  }
  const producer = opts.kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  // At a set rate, small requests spaced out (about 20 a second) rather than bursts of CHUNK.
  const chunkSize = opts.rate ? Math.max(1, Math.min(CHUNK, Math.floor(opts.rate / 20))) : CHUNK;

  const summary: ReplaySummary = { records: 0, byRole: {}, seconds: 0 };
  let chunk: Array<{ role: TopicRole; message: Message }> = [];
  let bytes = 0;
  const flush = async () => {
    if (chunk.length === 0) return;
    if (opts.rate) {
      const due = started + (summary.records / opts.rate) * 1000;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    // One topic's records keep their file order inside a produce request; chunks go one after another.
    const byTopic = new Map<string, Message[]>();
    for (const { role, message } of chunk) {
      const topic = opts.topics[role];
      const list = byTopic.get(topic);
      if (list) list.push(message);
      else byTopic.set(topic, [message]);
    }
    await producer.sendBatch({
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      acks: -1,
    });
    chunk = [];
    opts.onProgress?.(bytes, summary.records);
  };
  try {
    let lineNo = 0;
    for await (const line of lines) {
      lineNo++;
      bytes += Buffer.byteLength(line) + 1;
      const parsed = parseLine(line, lineNo);
      if (!parsed) continue;
      chunk.push(parsed);
      summary.records++;
      summary.byRole[parsed.role] = (summary.byRole[parsed.role] ?? 0) + 1;
      if (chunk.length >= chunkSize) await flush();
    }
    await flush();
  } finally {
    await producer.disconnect();
  }
  summary.seconds = (Date.now() - started) / 1000;
  return summary;
}
