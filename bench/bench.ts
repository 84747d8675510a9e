/**
 * `npm run bench`: pairguard measured against the ceiling of its own stack, on the local Kafka and
 * Redis. Prints one JSON line and a short table, and writes both to bench/results/.
 *
 *   throughput  a pre-loaded stream consumed by a raw kafkajs consumer that does nothing, and by
 *               pairguard (a real `pairguard run` process), alternately, `--repeat` times; medians.
 *               Each rate twice: sustained (between 10% and 90% of the events done) and overall
 *               (start to last commit, start-up and joins included)
 *   latency     a steady produced rate with violations injected: produce → chat.freeze readable
 *   memory      pairguard's peak RSS; Redis bytes per approval edge and per membership
 *   scaling     pairguard's throughput for chats of 2, 10 and 50 members, `--repeat` times; medians
 *   codecs      pairguard's throughput on the standard workload in topics whose broker config
 *               forces lz4 and zstd, next to uncompressed ones, alternating, `--repeat` times;
 *               medians, and each codec's ratio to uncompressed within each repetition
 *   history     Redis only: bytes per approval and per membership with the fact's whole history
 *               kept, switched k = 1, 2, 4, 8, 32 times (MEMORY USAGE of the hashes, used_memory as
 *               a cross-check, and each hash's encoding: listpack or hashtable), and switches/s of
 *               merging in stamp order vs a random order, `--repeat` times; medians
 *
 * Options: --events N (500000) --repeat N (3) --rate N (2000) --seconds N (60)
 *          --scaling-events N (300000) --codec-events N (300000)
 *          --history-facts N (20000) --history-switches N (switches per throughput run; 20000)
 *          --only throughput,latency,memory,scaling,codecs,history
 *          --cpu-prof DIR (write a V8 CPU profile of each pairguard process to DIR)
 *          --node-options S (NODE_OPTIONS of the pairguard processes; default as the Dockerfile)
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import type { Admin, Producer } from 'kafkajs';
import { Kafka, logLevel } from 'kafkajs';
import type { Config } from '../src/config.js';
import { loadConfig, prefixedTopicEnv } from '../src/config.js';
import { recordStamp } from '../src/events/event-time.js';
import type { Stamp } from '../src/policy/timeline.js';
import { approvalField, encodeHistory } from '../src/state/codec.js';
import { RedisStateStore } from '../src/state/redis-store.js';
import { consumerGroups } from '../src/stream/consumer-groups.js';
import { creationConfig } from '../src/stream/topics.js';
import { Random } from '../src/synthetic/random.js';
import type { Workload } from './workload.js';
import { generateWorkload } from './workload.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '500000' },
    repeat: { type: 'string', default: '3' },
    rate: { type: 'string', default: '2000' },
    seconds: { type: 'string', default: '60' },
    'scaling-events': { type: 'string', default: '300000' },
    'codec-events': { type: 'string', default: '300000' },
    'history-facts': { type: 'string', default: '20000' },
    'history-switches': { type: 'string', default: '20000' },
    only: { type: 'string', default: 'throughput,latency,memory,scaling,codecs,history' },
    partitions: { type: 'string', default: '3' },
    'cpu-prof': { type: 'string' },
    // Where pairguard's own log lines go (appended), at LOG_LEVEL warn; discarded by default.
    'pairguard-log': { type: 'string' },
    // As the Dockerfile runs pairguard (its NODE_OPTIONS); '' for Node's defaults.
    'node-options': { type: 'string', default: '--max-semi-space-size=4 --disable-warning=TimeoutNegativeWarning' },
  },
});
const num = (s: string | undefined) => Number(s);
const only = new Set(args.only!.split(','));
const BROKERS = ['127.0.0.1:9092'];
const kafka = new Kafka({ clientId: 'pairguard-bench', brokers: BROKERS, logLevel: logLevel.NOTHING });
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const log = (s: string) => process.stderr.write(`${s}\n`);

type Topics = Config['topics'];

async function freshTopics(
  admin: Admin,
  tag: string,
  configEntries: Array<{ name: string; value: string }> = [],
): Promise<Topics> {
  const t = loadConfig(prefixedTopicEnv(tag)).topics;
  await admin.createTopics({
    waitForLeaders: true,
    topics: Object.values(t).map((topic) => ({
      topic,
      numPartitions: num(args.partitions),
      replicationFactor: 1,
      configEntries: creationConfig(t, topic, configEntries),
    })),
  });
  return t;
}

async function produceAll(producer: Producer, topics: Topics, w: Workload) {
  for (const [topic, list] of [
    [topics.approvals, w.approvals],
    [topics.membership, w.membership],
    [topics.messages, w.messages],
  ] as const) {
    // 1,000 records per request stays under the broker's 1 MiB batch limit.
    for (let i = 0; i < list.length; i += 1000)
      await producer.send({ topic, messages: list.slice(i, i + 1000), acks: 1 });
  }
}

/** How far a consumer got over time: (seconds since its start, events done) samples. */
class Progress {
  private readonly samples: Array<[number, number]> = [[0, 0]];
  private readonly started = performance.now();
  constructor(private readonly total: number) {}
  record(done: number) {
    this.samples.push([(performance.now() - this.started) / 1000, done]);
  }
  /** Seconds until the first `fraction` of the events was done (linear between samples). */
  secondsTo(fraction: number): number {
    const target = fraction * this.total;
    for (let i = 1; i < this.samples.length; i++) {
      const [t1, d1] = this.samples[i]!;
      if (d1 >= target) {
        const [t0, d0] = this.samples[i - 1]!;
        return t0 + ((t1 - t0) * (target - d0)) / Math.max(1, d1 - d0);
      }
    }
    return Infinity;
  }
  /** The whole run: start-up, joins and the tail included. */
  overallRate(): number {
    return this.total / this.secondsTo(1);
  }
  /** The steady rate, between 10% and 90% done: start-up and the last partitions' tail left out. */
  sustainedRate(): number {
    return (0.8 * this.total) / (this.secondsTo(0.9) - this.secondsTo(0.1));
  }
}

interface Rates {
  overall: number;
  sustained: number;
  /** Seconds from start to the first 1% of events done. */
  startSeconds: number;
}

function ratesOf(p: Progress): Rates {
  return { overall: p.overallRate(), sustained: p.sustainedRate(), startSeconds: p.secondsTo(0.01) };
}

/** The ceiling: a kafkajs consumer that reads everything and does nothing. */
async function rawRate(topics: Topics, total: number): Promise<Rates> {
  const consumer = kafka.consumer({ groupId: `raw-${randomBytes(4).toString('hex')}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topics.approvals, topics.membership, topics.messages], fromBeginning: true });
  const progress = new Progress(total);
  let seen = 0;
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        seen += batch.messages.length;
        progress.record(seen);
        if (seen >= total) resolve();
      },
    });
  });
  await consumer.disconnect();
  return ratesOf(progress);
}

interface PairguardRun {
  pid: number;
  stop: () => Promise<void>;
  peakRssMb: () => number;
}

function startPairguard(topics: Topics, tag: string, port: number): PairguardRun {
  const profile = args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${args['cpu-prof']}`] : [];
  const child = spawn(process.execPath, [...profile, 'bin/pairguard.js', 'run'], {
    stdio: ['ignore', args['pairguard-log'] ? openSync(args['pairguard-log'], 'a') : 'ignore', 'inherit'],
    env: {
      ...process.env,
      NODE_OPTIONS: args['node-options'],
      LOG_LEVEL: 'warn',
      HTTP_PORT: String(port),
      REDIS_KEY_PREFIX: `bench:${tag}:`,
      PAIRGUARD_GROUP_ID: `pairguard-${tag}`,
      PAIRGUARD_FREEZE_BUDGET: '0',
      TOPIC_APPROVALS: topics.approvals,
      TOPIC_MEMBERSHIP: topics.membership,
      TOPIC_MESSAGES: topics.messages,
      TOPIC_ALERTS: topics.alerts,
      TOPIC_CONTROL: topics.control,
      TOPIC_DEAD_LETTER: topics.deadLetter,
    },
  });
  const exited = new Promise((r) => child.once('exit', r));
  return {
    pid: child.pid!,
    peakRssMb: () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) / 1024,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Redis calls by command since the server started (INFO commandstats). */
async function commandCalls(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  return new Map([...info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map((m) => [m[1]!, Number(m[2])]));
}

/** Redis main-thread CPU seconds since the server started (INFO cpu). */
async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return field('used_cpu_user_main_thread') + field('used_cpu_sys_main_thread');
}

/** What a run cost Redis, per event. */
interface RedisCost {
  /** Commands per event, all commands together. */
  total: number;
  /** Commands per event, by command. */
  byCommand: Record<string, number>;
  /** Redis main-thread CPU microseconds per event. */
  cpuMicrosPerEvent: number;
}

/**
 * Redis commands and CPU per event during a run, by command. Counts every client of the server,
 * so it is only meaningful on a Redis nothing else is using.
 */
async function redisCost(redis: Redis, total: number, run: () => Promise<void>): Promise<RedisCost> {
  const before = await commandCalls(redis);
  const cpuBefore = await redisCpuSeconds(redis);
  await run();
  const cpu = (await redisCpuSeconds(redis)) - cpuBefore;
  const after = await commandCalls(redis);
  const byCommand: Record<string, number> = {};
  let sum = 0;
  for (const [command, calls] of after) {
    const n = calls - (before.get(command) ?? 0);
    if (n <= 0 || command === 'info') continue;
    sum += n;
    byCommand[command] = Number((n / total).toFixed(3));
  }
  return {
    total: Number((sum / total).toFixed(2)),
    byCommand,
    cpuMicrosPerEvent: Number(((cpu * 1e6) / total).toFixed(2)),
  };
}

/** Records of each input topic that pairguard's groups have committed, by topic role. */
async function committedByRole(
  admin: Admin,
  groupId: string,
  topics: Topics,
): Promise<Record<'approvals' | 'membership' | 'messages', number>> {
  const done = { approvals: 0, membership: 0, messages: 0 };
  for (const g of consumerGroups({ groupId, topics })) {
    for (const t of await admin.fetchOffsets({ groupId: g.groupId, topics: g.topics })) {
      const role = (['approvals', 'membership', 'messages'] as const).find((r) => topics[r] === t.topic);
      if (role) done[role] = t.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
    }
  }
  return done;
}

/**
 * When each input topic was consumed: from the last sample with none of its records committed to
 * the first with all of them (100 ms samples, so indicative to ±0.1 s). The ordering rule makes
 * pairguard take a pre-loaded stream topic by topic: approvals, then membership, then messages.
 */
interface Phase {
  records: number;
  seconds: number;
  eventsPerSecond: number;
}

async function pairguardRate(
  admin: Admin,
  topics: Topics,
  total: number,
  tag: string,
  sizes?: Record<'approvals' | 'membership' | 'messages', number>,
): Promise<Rates & { peakRssMb: number; phases?: Record<string, Phase> }> {
  const progress = new Progress(total);
  const started = performance.now();
  const windows = new Map<string, { from: number; to: number | null }>();
  const run = startPairguard(topics, tag, 19464);
  for (;;) {
    const now = (performance.now() - started) / 1000;
    const done = await committedByRole(admin, `pairguard-${tag}`, topics);
    const sum = done.approvals + done.membership + done.messages;
    progress.record(sum);
    if (sizes) {
      for (const role of ['approvals', 'membership', 'messages'] as const) {
        const w = windows.get(role) ?? { from: 0, to: null };
        if (done[role] === 0) w.from = now;
        if (w.to === null && done[role] >= sizes[role]) w.to = now;
        windows.set(role, w);
      }
    }
    if (sum >= total) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const peakRssMb = run.peakRssMb();
  await run.stop();
  const phases = sizes
    ? Object.fromEntries(
        [...windows].map(([role, w]) => {
          const seconds = Number(((w.to ?? 0) - w.from).toFixed(2));
          return [
            role,
            {
              records: sizes[role as keyof typeof sizes],
              seconds,
              eventsPerSecond: Math.round(sizes[role as keyof typeof sizes] / Math.max(0.1, seconds)),
            },
          ];
        }),
      )
    : undefined;
  return { ...ratesOf(progress), peakRssMb, phases };
}

/**
 * Deletes a section's topics once it is measured, so that the next section runs on a broker that
 * does not carry millions of records it no longer needs.
 */
async function dropTopics(admin: Admin, topics: string[]) {
  await admin.deleteTopics({ topics: topics.splice(0) }).catch(() => undefined);
}

async function deletePrefix(redis: Redis, prefix: string) {
  for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 5000 }) as AsyncIterable<string[]>)
    if (keys.length) await redis.unlink(...keys);
}

async function main() {
  // The sections that run pairguard processes (bin/pairguard.js runs dist/) and use Kafka; memory
  // and history use the store from src/ against Redis only.
  const needsKafka = ['throughput', 'latency', 'scaling', 'codecs'].some((s) => only.has(s));
  if (needsKafka) execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
  let admin = kafka.admin();
  let producer = kafka.producer();
  if (needsKafka) await Promise.all([admin.connect(), producer.connect()]);
  // A kafkajs client keeps refreshing the metadata of every topic it ever used, and fails once one
  // is deleted: after a section's topics are dropped, the next section gets new clients.
  const dropSectionTopics = async () => {
    await dropTopics(admin, cleanupTopics);
    await Promise.all([producer.disconnect(), admin.disconnect()]);
    [admin, producer] = [kafka.admin(), kafka.producer()];
    await Promise.all([admin.connect(), producer.connect()]);
  };
  const redis = new Redis('redis://127.0.0.1:6379');
  const runTag = `bench${Date.now().toString(36)}`;
  const results: Record<string, unknown> = {
    at: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      memGb: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    pairguardNodeOptions: args['node-options'],
  };
  const cleanupTopics: string[] = [];

  if (only.has('throughput')) {
    const w = generateWorkload({
      events: num(args.events),
      minMembers: 2,
      maxMembers: 10,
      violationRate: 0.01,
      seed: 1,
      tag: runTag,
      start: Date.now() - 3_600_000,
    });
    const total = w.approvals.length + w.membership.length + w.messages.length;
    const topics = await freshTopics(admin, `${runTag}-tp`);
    cleanupTopics.push(...Object.values(topics));
    log(`throughput: producing ${total} events…`);
    await produceAll(producer, topics, w);
    const raw: Rates[] = [];
    const pg: Rates[] = [];
    const rss: number[] = [];
    const commands: RedisCost[] = [];
    const phases: Array<Record<string, Phase>> = [];
    for (let i = 0; i < num(args.repeat); i++) {
      raw.push(await rawRate(topics, total));
      const tag = `${runTag}-tp${i}`;
      let r!: Rates & { peakRssMb: number; phases?: Record<string, Phase> };
      const sizes = { approvals: w.approvals.length, membership: w.membership.length, messages: w.messages.length };
      commands.push(
        await redisCost(redis, total, async () => void (r = await pairguardRate(admin, topics, total, tag, sizes))),
      );
      phases.push(r.phases!);
      pg.push(r);
      rss.push(r.peakRssMb);
      await deletePrefix(redis, `bench:${tag}:`);
      log(
        `  run ${i + 1}: sustained raw ${raw[i]!.sustained.toFixed(0)} ev/s, pairguard ${r.sustained.toFixed(0)} ev/s; ` +
          `overall raw ${raw[i]!.overall.toFixed(0)}, pairguard ${r.overall.toFixed(0)} ev/s (first 1% after ${r.startSeconds.toFixed(1)} s); peak RSS ${rss[i]!.toFixed(0)} MB`,
      );
    }
    const summary = (xs: Rates[], key: keyof Rates) => ({
      runs: xs.map((x) => Number(x[key].toFixed(key === 'startSeconds' ? 2 : 0))),
      median: Number(median(xs.map((x) => x[key])).toFixed(key === 'startSeconds' ? 2 : 0)),
    });
    const ratios = (key: 'overall' | 'sustained') => pg.map((p, i) => Number((p[key] / raw[i]![key]).toFixed(3)));
    results.throughput = {
      events: total,
      mix: {
        approvals: w.approvals.length / total,
        membership: w.membership.length / total,
        messages: w.messages.length / total,
      },
      violatingChats: w.violatingChats.length,
      sustained: {
        raw: summary(raw, 'sustained'),
        pairguard: summary(pg, 'sustained'),
        ratios: ratios('sustained'),
        ratio: Number(median(ratios('sustained')).toFixed(3)),
      },
      overall: {
        raw: summary(raw, 'overall'),
        pairguard: summary(pg, 'overall'),
        ratios: ratios('overall'),
        ratio: Number(median(ratios('overall')).toFixed(3)),
      },
      pairguardStartSeconds: summary(pg, 'startSeconds'),
      peakRssMb: rss.map(Math.round),
      redis: commands,
      phases,
    };
    await dropSectionTopics();
  }

  if (only.has('scaling')) {
    // Each size once per repetition, alternating, so that a slow moment of the machine does not
    // fall on one size only; the ratio is taken within each repetition.
    const sizes = [2, 10, 50] as const;
    const runs: Record<string, number[]> = { members2: [], members10: [], members50: [] };
    const streams = new Map<number, { topics: Topics; total: number }>();
    for (const size of sizes) {
      const w = generateWorkload({
        events: num(args['scaling-events']),
        minMembers: size,
        maxMembers: size,
        violationRate: 0.01,
        seed: 2,
        tag: `${runTag}-s${size}`,
        start: Date.now() - 3_600_000,
      });
      const total = w.approvals.length + w.membership.length + w.messages.length;
      const topics = await freshTopics(admin, `${runTag}-s${size}`);
      cleanupTopics.push(...Object.values(topics));
      await produceAll(producer, topics, w);
      streams.set(size, { topics, total });
    }
    for (let i = 0; i < num(args.repeat); i++) {
      for (const size of sizes) {
        const { topics, total } = streams.get(size)!;
        const tag = `${runTag}-s${size}r${i}`;
        const r = await pairguardRate(admin, topics, total, tag);
        await deletePrefix(redis, `bench:${tag}:`);
        runs[`members${size}`]!.push(Math.round(r.sustained));
        log(
          `scaling: run ${i + 1}, ${size}-member chats: sustained ${Math.round(r.sustained)} ev/s (overall ${Math.round(r.overall)})`,
        );
      }
    }
    const ratios = runs.members50!.map((r50, i) => Number((r50 / runs.members2![i]!).toFixed(3)));
    results.scaling = {
      eventsPerSecond: Object.fromEntries(Object.entries(runs).map(([k, xs]) => [k, Math.round(median(xs))])),
      runs,
      ratios50to2: ratios,
      ratio50to2: Number(median(ratios).toFixed(3)),
    };
    await dropSectionTopics();
  }

  if (only.has('codecs')) {
    // One stream, written uncompressed by kafkajs into three topic sets; the broker stores the
    // lz4 and zstd sets' batches in that codec (compression.type), as a platform's topics are.
    const codecs = ['uncompressed', 'lz4', 'zstd'] as const;
    const w = generateWorkload({
      events: num(args['codec-events']),
      minMembers: 2,
      maxMembers: 10,
      violationRate: 0.01,
      seed: 3,
      tag: `${runTag}-c`,
      start: Date.now() - 3_600_000,
    });
    const total = w.approvals.length + w.membership.length + w.messages.length;
    const sets = new Map<string, Topics>();
    for (const codec of codecs) {
      const topics = await freshTopics(admin, `${runTag}-c${codec}`, [{ name: 'compression.type', value: codec }]);
      cleanupTopics.push(...Object.values(topics));
      log(`codecs: producing ${total} events into ${codec} topics…`);
      await produceAll(producer, topics, w);
      sets.set(codec, topics);
    }
    const runs: Record<string, number[]> = Object.fromEntries(codecs.map((c) => [c, []]));
    for (let i = 0; i < num(args.repeat); i++) {
      for (const codec of codecs) {
        const tag = `${runTag}-c${codec}r${i}`;
        const r = await pairguardRate(admin, sets.get(codec)!, total, tag);
        await deletePrefix(redis, `bench:${tag}:`);
        runs[codec]!.push(Math.round(r.sustained));
        log(
          `codecs: run ${i + 1}, ${codec} topics: sustained ${Math.round(r.sustained)} ev/s (overall ${Math.round(r.overall)}), peak RSS ${r.peakRssMb.toFixed(0)} MB`,
        );
      }
    }
    const ratios = (codec: string) => runs[codec]!.map((x, i) => Number((x / runs.uncompressed![i]!).toFixed(3)));
    results.codecs = {
      events: total,
      eventsPerSecond: Object.fromEntries(codecs.map((c) => [c, Math.round(median(runs[c]!))])),
      runs,
      ratiosToUncompressed: { lz4: ratios('lz4'), zstd: ratios('zstd') },
      ratioToUncompressed: {
        lz4: Number(median(ratios('lz4')).toFixed(3)),
        zstd: Number(median(ratios('zstd')).toFixed(3)),
      },
    };
    await dropSectionTopics();
  }

  if (only.has('latency')) {
    results.latency = await latency(admin, producer, runTag, cleanupTopics);
    await deletePrefix(redis, `bench:${runTag}-lt:`);
  }

  if (only.has('memory')) {
    results.redisMemory = await redisBytes(redis, runTag);
  }

  if (only.has('history')) {
    results.history = await historyBench(redis);
  }

  if (needsKafka) {
    await dropTopics(admin, cleanupTopics);
    await producer.disconnect();
    await admin.disconnect();
  }
  redis.disconnect();

  mkdirSync('bench/results', { recursive: true });
  const line = JSON.stringify(results);
  writeFileSync(`bench/results/${results.at as string}.json`.replace(/:/g, '-'), `${line}\n`);
  process.stdout.write(`${line}\n\n${table(results)}\n`);
}

/** Steady produced rate with violations injected; latency from produce to chat.freeze readable. */
async function latency(admin: Admin, producer: Producer, runTag: string, cleanupTopics: string[]) {
  const rate = num(args.rate);
  const seconds = num(args.seconds);
  // 5% of chats violate: about 440 freezes in 60 s, so that the 99th percentile is not the
  // second-worst sample.
  const w = generateWorkload({
    events: rate * seconds,
    minMembers: 2,
    maxMembers: 10,
    violationRate: 0.05,
    seed: 3,
    tag: `${runTag}-lt`,
    start: Date.now(),
  });
  const topics = await freshTopics(admin, `${runTag}-lt`);
  cleanupTopics.push(...Object.values(topics));
  const tag = `${runTag}-lt`;
  const run = startPairguard(topics, tag, 19465);
  await waitReady(19465);

  // Interleave as a platform would: each cluster's approvals, then its chats with their messages.
  const byChat = new Map<string, Array<{ topic: string; key: string; value: string }>>();
  for (const m of w.membership) byChat.set(m.key, [...(byChat.get(m.key) ?? []), { topic: topics.membership, ...m }]);
  for (const m of w.messages) byChat.get(m.key)!.push({ topic: topics.messages, ...m });
  const sequence = [...w.approvals.map((a) => ({ topic: topics.approvals, ...a })), ...[...byChat.values()].flat()];
  // Keep the approvals of each cluster ahead of its chats without sending all approvals first.
  sequence.sort((a, b) => occurred(a.value) - occurred(b.value));

  const violating = new Set(w.violatingChats);
  const producedAt = new Map<string, number>();
  const latencies: number[] = [];
  const tail = kafka.consumer({ groupId: `tail-${tag}`, maxWaitTimeInMs: 5 });
  await tail.connect();
  await tail.subscribe({ topic: topics.control, fromBeginning: true });
  // No commits: a commit after each batch holds up the next fetch by the coordinator's write,
  // which would be counted as pairguard's latency.
  await tail.run({
    autoCommit: false,
    eachMessage: async ({ message }) => {
      const v = JSON.parse(message.value!.toString()) as { type: string; chatId: string };
      const sent = producedAt.get(v.chatId);
      if (v.type === 'chat.freeze' && sent !== undefined) latencies.push(performance.now() - sent);
    },
  });
  await new Promise((r) => setTimeout(r, 2000));

  log(`latency: ${sequence.length} events at ${rate}/s…`);
  const tickMs = 10;
  const perTick = (rate * tickMs) / 1000;
  const started = performance.now();
  for (let i = 0; i < sequence.length;) {
    const due = Math.min(sequence.length, Math.floor(((performance.now() - started) / tickMs + 1) * perTick));
    const slice = sequence.slice(i, due);
    i = due;
    const byTopic = new Map<string, Array<{ key: string; value: string }>>();
    for (const r of slice) byTopic.set(r.topic, [...(byTopic.get(r.topic) ?? []), { key: r.key, value: r.value }]);
    const now = performance.now();
    for (const r of slice) {
      if (r.topic === topics.membership && violating.has(r.key) && r.value.includes('"member.added"'))
        producedAt.set(r.key, now);
    }
    if (byTopic.size > 0)
      await producer.sendBatch({
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        acks: 1,
      });
    const next = started + Math.floor(i / perTick) * tickMs;
    await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
  }
  const producedSeconds = (performance.now() - started) / 1000;
  await new Promise((r) => setTimeout(r, 3000));
  const peakRssMb = run.peakRssMb();
  await run.stop();
  await tail.disconnect();
  return {
    producedEvents: sequence.length,
    producedSeconds: Number(producedSeconds.toFixed(1)),
    achievedRate: Math.round(sequence.length / producedSeconds),
    violations: violating.size,
    freezesSeen: latencies.length,
    ms: {
      p50: round(pct(latencies, 50)),
      p95: round(pct(latencies, 95)),
      p99: round(pct(latencies, 99)),
      max: round(Math.max(...latencies)),
    },
    peakRssMb: Math.round(peakRssMb),
  };
}

const occurred = (value: string) => Date.parse(/"occurredAt":"([^"]+)"/.exec(value)![1]!);
const round = (x: number) => Number(x.toFixed(1));

async function waitReady(port: number) {
  for (let i = 0; i < 600; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('pairguard did not become ready');
}

/** Marginal Redis bytes per approval edge and per membership, from INFO memory at two sizes. */
async function redisBytes(redis: Redis, runTag: string) {
  const prefix = `bench:${runTag}-mem:`;
  const store = new RedisStateStore(redis, prefix);
  const used = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
  const measure = async (what: 'edge' | 'membership', n: number, offset: number) => {
    const before = await used();
    for (let i = offset; i < offset + n; i += 100) {
      const p = redis.pipeline();
      for (let j = i; j < i + 100; j++) {
        // 30 approved contacts per child, 6 members per chat: the shapes the capacity plan assumes.
        if (what === 'edge')
          // One switch each, stamped as a record of an approvals partition (at, rank, partition, offset).
          p.pgToggle(store.keys.user(`c${Math.floor(j / 30)}`), '1', 1_700_000_000_000 + j, 0, 0, j, `a:contact-${j}`);
        else {
          p.pgToggle(
            store.keys.members(`chat${Math.floor(j / 6)}`),
            '1',
            1_700_000_000_000 + j,
            1,
            0,
            j,
            `member-${j}`,
          );
          p.sadd(store.keys.userChats(`member-${j}`), `chat${Math.floor(j / 6)}`);
        }
      }
      await p.exec();
    }
    return (await used()) - before;
  };
  // Large enough that the keyspace's table doublings are averaged in rather than landing in one window.
  const sizes = [50_000, 150_000];
  const out: Record<string, number> = {};
  for (const what of ['edge', 'membership'] as const) {
    const small = await measure(what, sizes[0]!, 0);
    const large = (await measure(what, sizes[1]! - sizes[0]!, sizes[0]!)) + small;
    out[what === 'edge' ? 'bytesPerApprovalEdge' : 'bytesPerMembership'] = Math.round(
      (large - small) / (sizes[1]! - sizes[0]!),
    );
  }
  await deletePrefix(redis, prefix);
  return out;
}

function table(r: Record<string, unknown>): string {
  const rows: string[] = ['figure | measured | target', '--- | --- | ---'];
  type Summary = { median: number };
  type Side = { raw: Summary; pairguard: Summary; ratio: number };
  const t = r.throughput as
    | {
        sustained: Side;
        overall: Side;
        pairguardStartSeconds: Summary;
        peakRssMb: number[];
        redis: RedisCost[];
        phases: Array<Record<string, Phase>>;
      }
    | undefined;
  if (t) {
    rows.push(`raw kafkajs, sustained / overall (median) | ${t.sustained.raw.median} / ${t.overall.raw.median} ev/s |`);
    rows.push(
      `pairguard, sustained / overall (median) | ${t.sustained.pairguard.median} / ${t.overall.pairguard.median} ev/s |`,
    );
    rows.push(`pairguard / raw, sustained (overall) | ${t.sustained.ratio} (${t.overall.ratio}) | ≥ 0.8`);
    rows.push(`pairguard start to first 1% done (median) | ${t.pairguardStartSeconds.median} s |`);
    rows.push(`peak RSS (throughput runs) | ${Math.max(...t.peakRssMb)} MB | ≤ 200 MB`);
    rows.push(
      `Redis commands / CPU µs per event (each run) | ${t.redis.map((c) => `${c.total} / ${c.cpuMicrosPerEvent}`).join(', ')} |`,
    );
    const p = t.phases[0];
    if (p)
      rows.push(
        `topic by topic, first run (approvals, membership, messages) | ${['approvals', 'membership', 'messages'].map((k) => `${p[k]!.eventsPerSecond} ev/s for ${p[k]!.seconds} s`).join('; ')} |`,
      );
  }
  const l = r.latency as { ms: Record<string, number>; achievedRate: number; peakRssMb: number } | undefined;
  if (l)
    rows.push(
      `detection latency at ${l.achievedRate} ev/s p50/p95/p99/max | ${l.ms.p50}/${l.ms.p95}/${l.ms.p99}/${l.ms.max} ms | p99 ≤ 25 ms`,
    );
  const s = r.scaling as { eventsPerSecond: Record<string, number>; ratio50to2: number } | undefined;
  if (s)
    rows.push(
      `throughput 2 / 10 / 50 members (median) | ${s.eventsPerSecond.members2} / ${s.eventsPerSecond.members10} / ${s.eventsPerSecond.members50} ev/s (50:2 = ${s.ratio50to2}, median of per-run ratios) | 50:2 ≥ 0.33`,
    );
  const c = r.codecs as
    { eventsPerSecond: Record<string, number>; ratioToUncompressed: Record<string, number> } | undefined;
  if (c)
    rows.push(
      `sustained throughput, uncompressed / lz4 / zstd topics (median) | ${c.eventsPerSecond.uncompressed} / ${c.eventsPerSecond.lz4} / ${c.eventsPerSecond.zstd} ev/s (lz4 ${c.ratioToUncompressed.lz4}, zstd ${c.ratioToUncompressed.zstd} of uncompressed, medians of per-run ratios) |`,
    );
  const m = r.redisMemory as Record<string, number> | undefined;
  if (m)
    rows.push(`Redis bytes per approval edge / membership | ${m.bytesPerApprovalEdge} / ${m.bytesPerMembership} |`);
  const h = r.history as Record<string, unknown> | undefined;
  if (h) return rows.length > 2 ? `${rows.join('\n')}\n\n${historyTable(h)}` : historyTable(h);
  return rows.join('\n');
}

// ---------------------------------------------------------------------------------------------
// history: what keeping a fact's whole history costs in Redis (issue 16), and what merging a
// switch costs. Redis only (no Kafka, no pairguard process, no build): the store from src/.

const HISTORY_KS = [1, 2, 4, 8, 32] as const;
/** The switch counts whose write throughput is measured, appended in stamp order and out of order. */
const HISTORY_THROUGHPUT_KS = [8, 32] as const;
const HISTORY_PARTITIONS = 12;
/** Offsets of a topic that has been running for a while: seven digits. */
const HISTORY_OFFSET_BASE = 1_000_000;
const HISTORY_AT_BASE = 1_760_000_000_000;

type HistoryKind = 'approvals' | 'memberships';

/** Which hash each fact lives in and under which field: approvals ~10-50 per child, members ~5-20 per chat. */
interface HistoryLayout {
  kind: HistoryKind;
  /** The hash owner of each fact (child id or chat id). */
  owner: string[];
  /** The field of each fact (contact id or member id). */
  field: string[];
  /** The distinct owners, in order. */
  owners: string[];
}

function historyLayout(kind: HistoryKind, facts: number, seed: number): HistoryLayout {
  const rng = new Random(seed);
  const [min, max] = kind === 'approvals' ? [10, 50] : [5, 20];
  const owner: string[] = [];
  const field: string[] = [];
  const owners: string[] = [];
  while (owner.length < facts) {
    const id = kind === 'approvals' ? `child-${owners.length}` : `chat-${owners.length}`;
    owners.push(id);
    for (let n = rng.between(min, max); n > 0 && owner.length < facts; n--) {
      owner.push(id);
      field.push(kind === 'approvals' ? `contact-${owner.length}` : `user-${owner.length}`);
    }
  }
  return { kind, owner, field, owners };
}

/**
 * The stamp of fact `i`'s switch `s` (of `n` facts): switch rounds in order, so the global order
 * s * n + i is the stamp order; twelve partitions, seven-digit offsets.
 */
function historyStamp(kind: HistoryKind, n: number, i: number, s: number): Stamp {
  const g = s * n + i;
  return recordStamp(
    kind === 'approvals' ? 'approvals' : 'membership',
    HISTORY_AT_BASE + g,
    g % HISTORY_PARTITIONS,
    HISTORY_OFFSET_BASE + Math.floor(g / HISTORY_PARTITIONS),
  );
}

/** The switches (fact i, switch s, as s * n + i) to write: `switches(i)` of fact i, in stamp order. */
function historyOrder(n: number, switches: (i: number) => number, random: Random | null): number[] {
  const out: number[] = [];
  let rounds = 0;
  for (let i = 0; i < n; i++) rounds = Math.max(rounds, switches(i));
  for (let s = 0; s < rounds; s++) for (let i = 0; i < n; i++) if (s < switches(i)) out.push(s * n + i);
  if (random) {
    for (let j = out.length - 1; j > 0; j--) {
      const r = random.int(j + 1);
      [out[j], out[r]] = [out[r]!, out[j]!];
    }
  }
  return out;
}

/** Runs `run(0..count-1)` with at most `window` in flight (one connection: pipelined on the socket). */
async function inWindow(count: number, window: number, run: (j: number) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(window, count) }, async () => {
      while (next < count) await run(next++);
    }),
  );
}

/**
 * Writes the switches in `order` through the store's own methods, one call per switch (one record):
 * switch s of a fact is on for even s.
 */
async function writeHistories(store: RedisStateStore, layout: HistoryLayout, order: readonly number[]) {
  const n = layout.owner.length;
  await inWindow(order.length, 128, (j) => {
    const g = order[j]!;
    const i = g % n;
    const s = Math.floor(g / n);
    const stamp = historyStamp(layout.kind, n, i, s);
    return layout.kind === 'approvals'
      ? store.applyApproval(layout.owner[i]!, layout.field[i]!, s % 2 === 0, stamp)
      : store.applyMembership(layout.owner[i]!, [layout.field[i]!], s % 2 === 0, stamp);
  });
}

/**
 * The memory scenarios' writes, in stamp order: approvals one call per switch; memberships one call
 * per chat and round, all its members' switches together, as the store applies a chunk's records
 * (applyMembershipChanges), so that 32 rounds of 20,000 memberships stay quick.
 */
async function writeHistoriesInOrder(store: RedisStateStore, layout: HistoryLayout, switches: (i: number) => number) {
  const n = layout.owner.length;
  if (layout.kind === 'approvals') return writeHistories(store, layout, historyOrder(n, switches, null));
  const calls: Array<{ chatId: string; switches: Array<{ userIds: string[]; joined: boolean; at: Stamp }> }> = [];
  let rounds = 0;
  for (let i = 0; i < n; i++) rounds = Math.max(rounds, switches(i));
  for (let s = 0; s < rounds; s++) {
    for (let i = 0; i < n; i++) {
      if (s >= switches(i)) continue;
      const last = calls[calls.length - 1];
      const change = { userIds: [layout.field[i]!], joined: s % 2 === 0, at: historyStamp(layout.kind, n, i, s) };
      if (last && last.chatId === layout.owner[i]) last.switches.push(change);
      else calls.push({ chatId: layout.owner[i]!, switches: [change] });
    }
  }
  await inWindow(calls.length, 32, (j) => store.applyMembershipChanges([calls[j]!]));
}

interface HistoryMemory {
  /** Switches per fact (for `mixed`: every fact once, the first fact of each hash 3 times). */
  switches: number | 'mixed';
  /** MEMORY USAGE (SAMPLES 0) of the hashes holding the facts, per fact. */
  bytesPerFact: number;
  /** (bytesPerFact - bytesPerFact at k = 1) / (k - 1). */
  bytesPerExtraSwitch?: number;
  /** used_memory growth while writing, per fact: the cross-check (user→chats index sets included for memberships). */
  usedMemoryPerFact: number;
  /** MEMORY USAGE of the user→chats index sets the memberships wrote, per fact (the same whatever k). */
  indexBytesPerFact?: number;
  /** Length of one history value (bytes), the mean over the facts sampled. */
  valueBytes: number;
  /** Share of the hashes in the hashtable encoding (the rest listpack). */
  hashtableShare: number;
  /** Seconds the writes took (stamp order; approvals one store call per switch, memberships one per chat and round). */
  writeSeconds: number;
}

async function usedMemory(redis: Redis): Promise<number> {
  return Number(/^used_memory:(\d+)/m.exec(await redis.info('memory'))![1]);
}

/** Sums MEMORY USAGE <key> SAMPLES 0 over the keys, and counts their encodings. */
async function keysUsage(redis: Redis, keys: readonly string[]) {
  let bytes = 0;
  const encodings = new Map<string, number>();
  for (let i = 0; i < keys.length; i += 1000) {
    const p = redis.pipeline();
    for (const k of keys.slice(i, i + 1000)) {
      p.call('MEMORY', 'USAGE', k, 'SAMPLES', '0');
      p.object('ENCODING', k);
    }
    const replies = (await p.exec())!;
    for (let j = 0; j < replies.length; j += 2) {
      const [e1, usage] = replies[j]!;
      const [e2, encoding] = replies[j + 1]!;
      if (e1 || e2) throw e1 ?? e2;
      bytes += Number(usage ?? 0);
      encodings.set(String(encoding), (encodings.get(String(encoding)) ?? 0) + 1);
    }
  }
  return { bytes, encodings };
}

async function historyMemory(
  redis: Redis,
  layout: HistoryLayout,
  switches: number | 'mixed',
  prefixBase: string,
): Promise<HistoryMemory> {
  const n = layout.owner.length;
  const firstOfHash = (i: number) => i === 0 || layout.owner[i - 1] !== layout.owner[i];
  const count = switches === 'mixed' ? (i: number) => (firstOfHash(i) ? 3 : 1) : () => switches;
  // Key names of one length in every scenario: a key's name is part of its MEMORY USAGE.
  const prefix = `${prefixBase}${layout.kind[0]}${switches === 'mixed' ? 'mx' : String(switches).padStart(2, '0')}:`;
  const store = new RedisStateStore(redis, prefix);
  await deletePrefix(redis, prefix);
  const before = await usedMemory(redis);
  const started = performance.now();
  await writeHistoriesInOrder(store, layout, count);
  const writeSeconds = (performance.now() - started) / 1000;
  const after = await usedMemory(redis);
  const hashKeys = layout.owners.map((o) => (layout.kind === 'approvals' ? store.keys.user(o) : store.keys.members(o)));
  const hashes = await keysUsage(redis, hashKeys);
  const index =
    layout.kind === 'memberships'
      ? await keysUsage(
          redis,
          layout.field.map((u) => store.keys.userChats(u)),
        )
      : null;
  // What the store wrote is the history the codec encodes: checked on a sample, and measured.
  let valueBytes = 0;
  const sample = Array.from({ length: 200 }, (_, j) => Math.floor((j * n) / 200));
  const p = redis.pipeline();
  for (const i of sample)
    p.hget(
      hashKeys[layout.owners.indexOf(layout.owner[i]!)]!,
      layout.kind === 'approvals' ? approvalField(layout.field[i]!) : layout.field[i]!,
    );
  const values = (await p.exec())!.map(([err, v]) => {
    if (err) throw err;
    return String(v);
  });
  sample.forEach((i, j) => {
    const expected = encodeHistory(
      Array.from({ length: count(i) }, (_, s) => ({ stamp: historyStamp(layout.kind, n, i, s), on: s % 2 === 0 })),
    );
    if (values[j] !== expected)
      throw new Error(`history bench: ${layout.kind} fact ${i} is ${values[j]}, expected ${expected}`);
    valueBytes += values[j]!.length;
  });
  await deletePrefix(redis, prefix);
  const round1 = (x: number) => Number(x.toFixed(1));
  return {
    switches,
    bytesPerFact: round1(hashes.bytes / n),
    usedMemoryPerFact: round1((after - before) / n),
    ...(index ? { indexBytesPerFact: round1(index.bytes / n) } : {}),
    valueBytes: round1(valueBytes / sample.length),
    hashtableShare: Number(((hashes.encodings.get('hashtable') ?? 0) / hashKeys.length).toFixed(3)),
    writeSeconds: Number(writeSeconds.toFixed(2)),
  };
}

interface HistoryRate {
  facts: number;
  append: { runs: number[]; median: number; redisCpuMicrosPerSwitch: number };
  random: { runs: number[]; median: number; redisCpuMicrosPerSwitch: number };
  /** Median of the per-repetition ratios random / append. */
  randomToAppend: number;
}

/** Switches/s of writing `facts` facts `k` times each, in stamp order and in a random order, alternating, `repeat` times. */
async function historyRate(
  redis: Redis,
  kind: HistoryKind,
  k: number,
  facts: number,
  repeat: number,
  prefixBase: string,
): Promise<HistoryRate> {
  const layout = historyLayout(kind, facts, 17);
  const runs = { append: [] as number[], random: [] as number[] };
  const cpu = { append: [] as number[], random: [] as number[] };
  for (let r = 0; r < repeat; r++) {
    for (const order of ['append', 'random'] as const) {
      const prefix = `${prefixBase}t${kind[0]}${k}${order[0]}${r}:`;
      const store = new RedisStateStore(redis, prefix);
      const switches = historyOrder(facts, () => k, order === 'random' ? new Random(100 + r) : null);
      const cpuBefore = await redisCpuSeconds(redis);
      const started = performance.now();
      await writeHistories(store, layout, switches);
      runs[order].push(Math.round(switches.length / ((performance.now() - started) / 1000)));
      cpu[order].push((((await redisCpuSeconds(redis)) - cpuBefore) * 1e6) / switches.length);
      await deletePrefix(redis, prefix);
    }
    log(
      `history: ${kind} k=${k} run ${r + 1}: append ${runs.append[r]} switches/s (Redis ${cpu.append[r]!.toFixed(1)} µs each), random order ${runs.random[r]} (${cpu.random[r]!.toFixed(1)} µs)`,
    );
  }
  const ratios = runs.random.map((x, i) => x / runs.append[i]!);
  return {
    facts,
    append: {
      runs: runs.append,
      median: Math.round(median(runs.append)),
      redisCpuMicrosPerSwitch: Number(median(cpu.append).toFixed(1)),
    },
    random: {
      runs: runs.random,
      median: Math.round(median(runs.random)),
      redisCpuMicrosPerSwitch: Number(median(cpu.random).toFixed(1)),
    },
    randomToAppend: Number(median(ratios).toFixed(3)),
  };
}

async function historyBench(redis: Redis) {
  const facts = num(args['history-facts']);
  const prefixBase = `pgbench-history:${process.pid}:`;
  const config = new Map<string, string>();
  for (const name of ['hash-max-listpack-entries', 'hash-max-listpack-value']) {
    const [, value] = (await redis.config('GET', name)) as string[];
    config.set(name, value!);
  }
  const server = /^redis_version:(\S+)/m.exec(await redis.info('server'))?.[1];
  const out: Record<string, unknown> = {
    facts,
    redis: {
      version: server,
      hashMaxListpackEntries: Number(config.get('hash-max-listpack-entries')),
      hashMaxListpackValue: Number(config.get('hash-max-listpack-value')),
    },
  };
  try {
    for (const kind of ['approvals', 'memberships'] as const) {
      const layout = historyLayout(kind, facts, kind === 'approvals' ? 11 : 12);
      const byK: Record<string, HistoryMemory> = {};
      for (const k of [...HISTORY_KS, 'mixed'] as const) {
        const m = await historyMemory(redis, layout, k, prefixBase);
        const one = byK.k1;
        if (one && typeof k === 'number')
          m.bytesPerExtraSwitch = Number(((m.bytesPerFact - one.bytesPerFact) / (k - 1)).toFixed(1));
        byK[`k${k}`] = m;
        log(
          `history: ${kind} k=${k}: ${m.bytesPerFact} B/fact (used_memory ${m.usedMemoryPerFact}), value ${m.valueBytes} B, hashtable ${(100 * m.hashtableShare).toFixed(0)}% of hashes, written in ${m.writeSeconds} s`,
        );
      }
      const perHash = layout.owner.length / layout.owners.length;
      const encodingStep = HISTORY_KS.find((k) => byK[`k${k}`]!.hashtableShare > 0.5);
      out[kind] = {
        hashes: layout.owners.length,
        factsPerHash: Number(perHash.toFixed(1)),
        ...byK,
        /** Bytes per switch once the hashes are hashtables: the slope from k = 8 to k = 32. */
        bytesPerSwitchHashtable: Number(((byK.k32!.bytesPerFact - byK.k8!.bytesPerFact) / 24).toFixed(1)),
        firstKInHashtable: encodingStep ?? null,
      };
    }
    const repeat = num(args.repeat);
    const budget = num(args['history-switches']);
    const throughput: Record<string, Record<string, HistoryRate>> = {};
    for (const kind of ['approvals', 'memberships'] as const) {
      throughput[kind] = {};
      for (const k of HISTORY_THROUGHPUT_KS)
        throughput[kind][`k${k}`] = await historyRate(redis, kind, k, Math.round(budget / k), repeat, prefixBase);
    }
    out.throughput = { switchesPerRun: budget, window: 128, ...throughput };
  } finally {
    await deletePrefix(redis, prefixBase);
  }
  return out;
}

function historyTable(h: Record<string, unknown>): string {
  type M = HistoryMemory;
  const rows = [
    'history (Redis memory per fact) | k = 1 | 2 | 4 | 8 | 32 | mixed¹',
    '--- | --- | --- | --- | --- | --- | ---',
  ];
  const redis = h.redis as { version: string; hashMaxListpackValue: number; hashMaxListpackEntries: number };
  for (const kind of ['approvals', 'memberships'] as const) {
    const x = h[kind] as Record<string, M> & { bytesPerSwitchHashtable: number; factsPerHash: number };
    const cells = (f: (m: M) => string) => [...HISTORY_KS.map((k) => f(x[`k${k}`]!)), f(x.kmixed!)].join(' | ');
    rows.push(
      `${kind}: bytes per fact, MEMORY USAGE (${x.factsPerHash} facts per hash) | ${cells((m) => `${m.bytesPerFact}`)}`,
    );
    rows.push(`${kind}: bytes per fact, used_memory growth | ${cells((m) => `${m.usedMemoryPerFact}`)}`);
    rows.push(
      `${kind}: bytes per extra switch (vs k = 1) | ${cells((m) => (m.bytesPerExtraSwitch === undefined ? '' : `${m.bytesPerExtraSwitch}`))}`,
    );
    rows.push(
      `${kind}: history value bytes / hashes in hashtable | ${cells((m) => `${m.valueBytes} / ${(100 * m.hashtableShare).toFixed(0)}%`)}`,
    );
    if (x.k1!.indexBytesPerFact !== undefined)
      rows.push(`${kind}: user→chats index bytes per fact (not above) | ${cells((m) => `${m.indexBytesPerFact}`)}`);
  }
  rows.push(
    '',
    `¹ every fact switched once, the first fact of each hash 3 times. Redis ${redis.version}, hash-max-listpack-value ${redis.hashMaxListpackValue}, hash-max-listpack-entries ${redis.hashMaxListpackEntries}.`,
    '',
    'history (merge throughput, one store call per switch, median) | append (stamp order) | random order | random / append',
    '--- | --- | --- | ---',
  );
  const t = h.throughput as Record<string, Record<string, HistoryRate>> & { switchesPerRun: number };
  for (const kind of ['approvals', 'memberships'] as const)
    for (const k of HISTORY_THROUGHPUT_KS) {
      const r = t[kind]![`k${k}`]!;
      rows.push(
        `${kind}, k = ${k} (${r.facts} facts) | ${r.append.median} switches/s (Redis ${r.append.redisCpuMicrosPerSwitch} µs each) | ${r.random.median} (${r.random.redisCpuMicrosPerSwitch} µs) | ${r.randomToAppend}`,
      );
    }
  return rows.join('\n');
}

await main();
