/**
 * Records written by Kafka's own Java client (test/support/java/RecordProducer.java), the way
 * platform producers write them: their codecs, their batching, headers, transactions. The class
 * is compiled once per source version into .services/java, against the jars `npm run services`
 * installed (kafka-clients with lz4-java, zstd-jni and snappy-java).
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Admin, Message } from 'kafkajs';
import { ConfigResourceTypes } from 'kafkajs';
import { parseLine } from '../../src/cli/replay.js';
import type { Topics } from '../../src/config.js';
import { installKafkaJars } from '../../scripts/services.js';
import { compileJava } from './javac.js';

const SOURCE = path.resolve('test/support/java/RecordProducer.java');
const LIBS = path.resolve('.services/kafka/libs');

/** One record to write: topic, key, value and headers, as bytes or text. */
export interface JavaRecord {
  topic: string;
  key: string | Buffer | null;
  value: string | Buffer | null;
  headers?: Record<string, string>;
}

async function compiled(): Promise<string> {
  await installKafkaJars({ log: () => undefined });
  return compileJava(SOURCE, LIBS, '.services/java');
}

const b64 = (v: string | Buffer | null): string => (v === null ? '' : Buffer.from(v).toString('base64'));

/**
 * Writes `records` with the Java client, with producer `settings` (compression.type,
 * transactional.id, ...); resolves when every record is acknowledged (and the transaction
 * committed, or aborted with `abort`).
 */
export async function produceWithJava(
  brokers: string,
  records: readonly JavaRecord[],
  settings: Record<string, string> = {},
  opts: { abort?: boolean } = {},
): Promise<void> {
  const classes = await compiled();
  const lines = records.map((r) =>
    [
      r.topic,
      b64(r.key),
      b64(r.value),
      Object.entries(r.headers ?? {})
        .map(([k, v]) => `${k}=${b64(v)}`)
        .join(','),
    ].join('\t'),
  );
  const args = [
    '-Xmx256m',
    '-cp',
    `${classes}:${LIBS}/*`,
    'RecordProducer',
    `bootstrap.servers=${brokers}`,
    'linger.ms=5',
    'batch.size=65536',
  ];
  for (const [k, v] of Object.entries(settings)) args.push(`${k}=${v}`);
  if (opts.abort) args.push('--abort');
  await new Promise<void>((resolve, reject) => {
    const child = execFile('java', args, { maxBuffer: 16 * 1024 * 1024, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err)
        reject(
          new Error(
            `java producer failed: ${err.message}\n${stderr
              .split('\n')
              .filter((l) => !/^\s*(at |SLF4J)/.test(l))
              .slice(-15)
              .join('\n')}`,
          ),
        );
      else if (!stdout.includes(`sent ${records.length}`))
        reject(new Error(`java producer did not confirm ${records.length} records: ${stdout}`));
      else resolve();
    });
    child.stdin!.end(lines.join('\n') + '\n');
  });
}

/** The records `pairguard replay` would write for JSONL lines, with headers as platform producers add them. */
export function recordsOfLines(lines: readonly string[], topics: Topics, source = 'lines'): JavaRecord[] {
  const out: JavaRecord[] = [];
  lines.forEach((line, i) => {
    const parsed = parseLine(line, i + 1);
    if (!parsed) return;
    const m: Message = parsed.message;
    out.push({
      topic: topics[parsed.role],
      key: (m.key as string | Buffer | null | undefined) ?? null,
      value: (m.value as string | Buffer | null | undefined) ?? null,
      headers: {
        'content-type': 'application/json',
        traceparent: `00-${createHash('md5').update(`${source}:${i}`).digest('hex')}-00f067aa0ba902b7-01`,
        'x-producer': 'platform-java',
      },
    });
  });
  return out;
}

/** The records of a JSONL fixture file (see recordsOfLines). */
export function fixtureRecords(file: string, topics: Topics): JavaRecord[] {
  return recordsOfLines(readFileSync(file, 'utf8').split('\n'), topics, file);
}

/**
 * The codec of every record batch a topic's partitions hold on the local broker's disk, read with
 * Kafka's own DumpLogSegments (the local broker's log.dirs, see scripts/services.ts).
 */
/**
 * Where the broker `admin` talks to keeps its partitions (its `log.dirs`, first entry): the local
 * broker's own data folder, wherever `npm run services` was run from (it may be another
 * checkout's broker, reused).
 */
export async function brokerLogDir(admin: Admin): Promise<string> {
  const { brokers } = await admin.describeCluster();
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [
      { type: ConfigResourceTypes.BROKER, name: String(brokers[0]!.nodeId), configNames: ['log.dirs', 'log.dir'] },
    ],
  });
  const entries = resources[0]!.configEntries;
  const dirs =
    entries.find((e) => e.configName === 'log.dirs')?.configValue ??
    entries.find((e) => e.configName === 'log.dir')?.configValue;
  if (!dirs) throw new Error('the broker reports no log.dirs');
  return dirs.split(',')[0]!;
}

/** The first segment file of a topic's partition on the local broker's disk. */
export async function segmentFile(admin: Admin, topic: string, partition = 0): Promise<string> {
  return path.join(await brokerLogDir(admin), `${topic}-${partition}`, '00000000000000000000.log');
}

/** The codec of every record batch a topic holds on the local broker's disk (DumpLogSegments). */
export async function batchCodecs(topic: string, admin: Admin): Promise<string[]> {
  const logDirs = await brokerLogDir(admin);
  const codecs: string[] = [];
  for (const dir of readdirSync(logDirs).filter(
    (d) => d.startsWith(`${topic}-`) && /^\d+$/.test(d.slice(topic.length + 1)),
  )) {
    const segments = readdirSync(path.join(logDirs, dir)).filter((f) => f.endsWith('.log'));
    if (segments.length === 0) continue;
    const out = execFileSync(
      'java',
      [
        '-Xmx256m',
        '-cp',
        `${LIBS}/*`,
        'kafka.tools.DumpLogSegments',
        '--files',
        segments.map((f) => path.join(logDirs, dir, f)).join(','),
      ],
      { encoding: 'utf8' },
    );
    for (const m of out.matchAll(/compresscodec: (\w+)/g)) codecs.push(m[1]!.toLowerCase());
  }
  return codecs;
}
