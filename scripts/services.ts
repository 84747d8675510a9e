/**
 * Local Kafka and Redis for development, the integration tests and CI — no Docker.
 *
 *   npx tsx scripts/services.ts start|stop|status      (npm run services / npm run services:stop)
 *
 * start: reuses whatever already answers on 127.0.0.1:9092 (a kafkajs describeCluster()) and
 * 127.0.0.1:6379 (PING). Otherwise it installs the broker jars from Maven Central with Maven (only
 * when .services/kafka/libs is missing or scripts/kafka/pom.xml changed), formats a fresh KRaft data
 * directory and starts a single-node broker detached; and starts redis-server if it is installed.
 * stop: stops only what start started (the pid files under .services/). Safe to call twice.
 *
 * vitest's globalSetup imports startServices()/stopServices().
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const HOST = '127.0.0.1';
const KAFKA_PORT = 9092;
const CONTROLLER_PORT = 9093;
const REDIS_PORT = 6379;
const KAFKA_READY_TIMEOUT_MS = 90_000;
const REDIS_READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 30_000;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const POM = path.join(ROOT, 'scripts', 'kafka', 'pom.xml');
const LOG4J_CONFIG = path.join(ROOT, 'scripts', 'kafka', 'log4j2.yaml');
const SERVICES_DIR = path.join(ROOT, '.services');
const KAFKA_HOME = path.join(SERVICES_DIR, 'kafka');
const LIBS = path.join(KAFKA_HOME, 'libs');
const LIBS_STAMP = path.join(LIBS, '.pom.sha256');
const DATA = path.join(KAFKA_HOME, 'data');
const LOG_DIR = path.join(DATA, 'kraft-logs');
const SERVER_LOG = path.join(DATA, 'server.log');
const JAVA_OUT = path.join(DATA, 'kafka.out');
const SERVER_PROPERTIES = path.join(KAFKA_HOME, 'server.properties');
const KAFKA_PID = path.join(KAFKA_HOME, 'kafka.pid');
const KAFKA_STATE = path.join(KAFKA_HOME, 'started.json');
// Application class-data sharing: the first broker run dumps the classes it loaded when it stops
// (JDK 13+ -XX:ArchiveClassesAtExit) and later runs map them, which cuts JVM start-up by ~40%.
const CDS_ARCHIVE = path.join(KAFKA_HOME, 'kafka.jsa');
const CDS_ARCHIVE_TMP = `${CDS_ARCHIVE}.tmp`;
const CDS_STAMP = `${CDS_ARCHIVE}.stamp`;
const REDIS_PID = path.join(SERVICES_DIR, 'redis.pid');
const REDIS_LOG = path.join(SERVICES_DIR, 'redis.log');

export interface StartOptions {
  /** Receives the one-line status of each service; default: stdout. */
  log?: (line: string) => void;
  /** How long to wait for a broker we start to answer (default 90 s). */
  kafkaTimeoutMs?: number;
}

export interface StartResult {
  /** This call started the broker (false when one was already running, ours or not). */
  startedKafka: boolean;
  /** This call started redis-server. */
  startedRedis: boolean;
  kafkaVersion?: string;
  /** Broker start, from format to describeCluster() answering, when this call started it. */
  kafkaStartMs?: number;
  /** Maven's jar install, when this call had to run it. */
  jarsMs?: number;
}

export interface StopResult {
  stoppedKafka: boolean;
  stoppedRedis: boolean;
}

export class ServicesError extends Error {
  override name = 'ServicesError';
}

const defaultLog = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

// ---------------------------------------------------------------------------------------------
// Probes

interface ClusterInfo {
  clusterId: string;
  brokers: number;
}

/** A kafkajs admin describeCluster() against 127.0.0.1:9092, or null if it does not answer. */
async function describeKafka(timeoutMs = 2_000): Promise<ClusterInfo | null> {
  const kafka = new Kafka({
    clientId: 'pairguard-services',
    brokers: [`${HOST}:${KAFKA_PORT}`],
    logLevel: logLevel.NOTHING,
    connectionTimeout: Math.min(timeoutMs, 1_000),
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
  });
  const admin = kafka.admin({ retry: { retries: 0 } });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), timeoutMs + 500);
  });
  const probe = (async (): Promise<ClusterInfo | null> => {
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      return { clusterId: cluster.clusterId, brokers: cluster.brokers.length };
    } catch {
      return null;
    }
  })();
  try {
    return await Promise.race([probe, timeout]);
  } finally {
    clearTimeout(timer);
    await admin.disconnect().catch(() => undefined);
  }
}

/** True if 127.0.0.1:6379 answers PING with +PONG (a raw RESP exchange, no client library). */
function redisPing(timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    let settled = false;
    let reply = '';
    const socket = net.connect({ host: HOST, port: REDIS_PORT });
    const finish = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
  });
}

/** True if something accepts TCP connections on 127.0.0.1:port. */
function portOpen(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port });
    const finish = (open: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(open);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

// ---------------------------------------------------------------------------------------------
// Processes and pid files

function readPid(file: string): number | null {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** Alive and not a zombie (a detached child whose reaper is gone would otherwise look alive). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return false;
  } catch {
    // No procfs (not Linux): trust kill(0).
  }
  return true;
}

/** Guards against a recycled pid: the process's command line must mention `needle`. */
function commandMatches(pid: number, needle: string): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle);
  } catch {
    return !fs.existsSync('/proc/self/cmdline');
  }
}

/** The pid recorded in `file` if that process is still ours and running; removes a stale file. */
function ownPid(file: string, needle: string): number | null {
  const pid = readPid(file);
  if (pid === null) return null;
  if (isAlive(pid) && commandMatches(pid, needle)) return pid;
  fs.rmSync(file, { force: true });
  return null;
}

/** SIGTERM, wait up to 30 s, then SIGKILL. Resolves 'terminated' or 'killed'. */
async function terminate(pid: number, timeoutMs = STOP_TIMEOUT_MS): Promise<'terminated' | 'killed'> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return 'terminated';
    await sleep(100);
  }
  signal('SIGKILL');
  const killDeadline = Date.now() + 5_000;
  while (Date.now() < killDeadline && isAlive(pid)) await sleep(100);
  return 'killed';
}

interface RunResult {
  code: number | null;
  output: string;
}

/** Runs a command to completion, capturing stdout+stderr; rejects only if it cannot be spawned. */
function run(command: string, args: string[], cwd: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    let output = '';
    let child: ChildProcess;
    try {
      child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      reject(err as Error);
      return;
    }
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    // 'exit', not 'close': a daemonizing child (redis-server) may leave a grandchild holding pipes.
    child.once('exit', (code) => resolve({ code, output }));
  });
}

function tail(file: string, lines = 40): string {
  try {
    const text = fs.readFileSync(file, 'utf8').trimEnd();
    if (text === '') return `(${path.relative(ROOT, file)} is empty)`;
    return `--- last lines of ${path.relative(ROOT, file)} ---\n${text.split('\n').slice(-lines).join('\n')}`;
  } catch {
    return `(no ${path.relative(ROOT, file)})`;
  }
}

function cleanOutput(text: string): string {
  // Maven's -q output still carries colour resets; drop escape sequences for readable errors.
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, '').trim();
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

// ---------------------------------------------------------------------------------------------
// Kafka

function javaBinary(): string {
  const home = process.env.JAVA_HOME;
  if (home) {
    const candidate = path.join(home, 'bin', 'java');
    if (fs.existsSync(candidate)) return candidate;
  }
  return 'java';
}

function kafkaVersion(): string {
  try {
    for (const name of fs.readdirSync(LIBS)) {
      const match = /^kafka_2\.13-(.+)\.jar$/.exec(name);
      if (match?.[1]) return match[1];
    }
  } catch {
    // no libs yet
  }
  return 'unknown';
}

/** Installs the broker jars into .services/kafka/libs when missing or the pom changed; ms taken or null. */
async function ensureJars(log: (line: string) => void): Promise<number | null> {
  const pomHash = sha256(fs.readFileSync(POM));
  let stamp: string | null = null;
  try {
    stamp = fs.readFileSync(LIBS_STAMP, 'utf8').trim();
  } catch {
    stamp = null;
  }
  if (stamp === pomHash && kafkaVersion() !== 'unknown') return null;

  log('kafka: installing broker jars with Maven into .services/kafka/libs (first run only) ...');
  const started = performance.now();
  fs.rmSync(LIBS, { recursive: true, force: true });
  fs.mkdirSync(KAFKA_HOME, { recursive: true });
  let result: RunResult;
  try {
    result = await run(
      'mvn',
      ['-B', '-q', '-f', POM, 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${LIBS}`],
      ROOT,
    );
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ServicesError(
      code === 'ENOENT'
        ? 'kafka: `mvn` is not on PATH; install Apache Maven (apt-get install maven) to fetch the broker jars'
        : `kafka: could not run mvn: ${(err as Error).message}`,
    );
  }
  if (result.code !== 0 || kafkaVersion() === 'unknown') {
    fs.rmSync(LIBS, { recursive: true, force: true });
    throw new ServicesError(
      `kafka: Maven could not fetch the broker jars (exit ${String(result.code)}):\n${cleanOutput(result.output)}`,
    );
  }
  fs.writeFileSync(LIBS_STAMP, `${pomHash}\n`);
  return performance.now() - started;
}

function serverProperties(): string {
  return `# Written by scripts/services.ts on every start: one-node KRaft broker+controller on loopback.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@${HOST}:${CONTROLLER_PORT}
listeners=PLAINTEXT://${HOST}:${KAFKA_PORT},CONTROLLER://${HOST}:${CONTROLLER_PORT}
advertised.listeners=PLAINTEXT://${HOST}:${KAFKA_PORT}
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=${LOG_DIR}

# One node: every internal topic at replication factor 1 (else "coordinator not available").
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
default.replication.factor=1
min.insync.replicas=1
num.partitions=1
# The app and the tests create their topics with the admin client.
auto.create.topics.enable=false
delete.topic.enable=true

# A 2-core test box: no rebalance delay, few threads, a small cleaner buffer.
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
background.threads=4
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=1048577
log.segment.bytes=16777216
`;
}

/** JVM flags for class-data sharing: map a valid archive, or dump one when the broker exits. */
function cdsFlags(java: string, { dump }: { dump: boolean }): string[] {
  const stamp = `${readText(LIBS_STAMP)}|${LIBS}|${java}`;
  if (fs.existsSync(CDS_ARCHIVE) && readText(CDS_STAMP) === stamp) return [`-XX:SharedArchiveFile=${CDS_ARCHIVE}`];
  fs.rmSync(CDS_ARCHIVE, { force: true });
  fs.rmSync(CDS_STAMP, { force: true });
  if (!dump) return [];
  fs.rmSync(CDS_ARCHIVE_TMP, { force: true });
  fs.writeFileSync(`${CDS_STAMP}.pending`, stamp);
  return [`-XX:ArchiveClassesAtExit=${CDS_ARCHIVE_TMP}`];
}

function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

/** After the broker has exited: keep a dumped archive only if the JVM exited cleanly. */
function settleCdsArchive(clean: boolean): void {
  const pending = `${CDS_STAMP}.pending`;
  if (clean && fs.existsSync(CDS_ARCHIVE_TMP) && fs.statSync(CDS_ARCHIVE_TMP).size > 0 && fs.existsSync(pending)) {
    fs.renameSync(CDS_ARCHIVE_TMP, CDS_ARCHIVE);
    fs.renameSync(pending, CDS_STAMP);
  } else {
    fs.rmSync(CDS_ARCHIVE_TMP, { force: true });
    fs.rmSync(pending, { force: true });
  }
}

async function waitForKafka(pid: number, timeoutMs: number, exited: () => string | null): Promise<ClusterInfo> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = await describeKafka();
    if (info) return info;
    const exit = exited() ?? (isAlive(pid) ? null : 'exited');
    if (exit !== null) {
      throw new ServicesError(
        `kafka: the broker (pid ${pid}) ${exit} before it answered\n${tail(SERVER_LOG)}\n${tail(JAVA_OUT, 20)}`,
      );
    }
    if (Date.now() >= deadline) {
      throw new ServicesError(
        `kafka: the broker (pid ${pid}) did not answer describeCluster() on ${HOST}:${KAFKA_PORT} within ${seconds(timeoutMs)}\n${tail(SERVER_LOG)}\n${tail(JAVA_OUT, 20)}`,
      );
    }
    await sleep(100);
  }
}

async function startKafka(
  log: (line: string) => void,
  timeoutMs: number,
): Promise<Pick<StartResult, 'startedKafka' | 'kafkaVersion' | 'kafkaStartMs' | 'jarsMs'>> {
  const running = await describeKafka();
  const own = ownPid(KAFKA_PID, 'kafka.Kafka');
  if (running) {
    log(`kafka reused on ${HOST}:${KAFKA_PORT}${own !== null ? ` (pid ${own}, started earlier by services.ts)` : ''}`);
    return { startedKafka: false };
  }
  if (own !== null) {
    // Ours, still starting (e.g. a concurrent `start`): wait for it rather than start another.
    await waitForKafka(own, timeoutMs, () => null);
    log(`kafka reused on ${HOST}:${KAFKA_PORT} (pid ${own}, started earlier by services.ts)`);
    return { startedKafka: false };
  }
  for (const port of [KAFKA_PORT, CONTROLLER_PORT]) {
    if (await portOpen(port)) {
      throw new ServicesError(
        `kafka: ${HOST}:${port} is in use by something that does not answer as a Kafka broker; stop it first`,
      );
    }
  }

  const jarsMs = (await ensureJars(log)) ?? undefined;
  const version = kafkaVersion();
  const started = performance.now();
  const java = javaBinary();

  // A fresh data directory on every start: no state leaks between runs.
  fs.rmSync(DATA, { recursive: true, force: true });
  fs.rmSync(KAFKA_STATE, { force: true });
  fs.mkdirSync(LOG_DIR, { recursive: true });
  fs.writeFileSync(SERVER_PROPERTIES, serverProperties());
  settleCdsArchive(false); // a leftover from a broker that died without `stop`
  const common = [
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${LOG4J_CONFIG}`,
    `-Dkafka.logs.dir=${DATA}`,
    '-cp',
    path.join(LIBS, '*'),
  ];

  const clusterId = kafkaClusterId();
  let format: RunResult;
  try {
    format = await run(
      java,
      // A short-lived tool: C1 only and the serial GC start fastest.
      [
        '-Xmx256m',
        '-XX:TieredStopAtLevel=1',
        '-XX:+UseSerialGC',
        ...cdsFlags(java, { dump: false }),
        ...common,
        'kafka.tools.StorageTool',
        'format',
        '-t',
        clusterId,
        '-c',
        SERVER_PROPERTIES,
        '--ignore-formatted',
      ],
      KAFKA_HOME,
    );
  } catch (err) {
    throw new ServicesError(`kafka: could not run ${java} (is a JDK 17+ installed?): ${(err as Error).message}`);
  }
  if (format.code !== 0) {
    throw new ServicesError(
      `kafka: StorageTool format failed (exit ${String(format.code)}):\n${format.output.trim()}\n${tail(SERVER_LOG)}`,
    );
  }

  const out = fs.openSync(JAVA_OUT, 'a');
  let child: ChildProcess;
  try {
    child = spawn(
      java,
      ['-Xms256m', '-Xmx768m', ...cdsFlags(java, { dump: true }), ...common, 'kafka.Kafka', SERVER_PROPERTIES],
      { cwd: KAFKA_HOME, detached: true, stdio: ['ignore', out, out] },
    );
  } finally {
    fs.closeSync(out);
  }
  let exitReason: string | null = null;
  child.once('error', (err) => (exitReason = `could not be started (${err.message})`));
  child.once('exit', (code, signal) => (exitReason = `exited (${signal ?? `code ${String(code)}`})`));
  child.unref();
  const pid = child.pid;
  if (pid === undefined) {
    await sleep(50);
    throw new ServicesError(`kafka: ${java} ${exitReason ?? 'could not be started'}`);
  }
  fs.writeFileSync(KAFKA_PID, `${pid}\n`);

  try {
    await waitForKafka(pid, timeoutMs, () => exitReason);
  } catch (err) {
    if (isAlive(pid)) await terminate(pid, 10_000);
    fs.rmSync(KAFKA_PID, { force: true });
    settleCdsArchive(false);
    throw err;
  }
  const kafkaStartMs = performance.now() - started;
  fs.writeFileSync(
    KAFKA_STATE,
    `${JSON.stringify({ version, pid, clusterId, startedAt: new Date().toISOString(), startMs: Math.round(kafkaStartMs), jarsMs: jarsMs === undefined ? null : Math.round(jarsMs) }, null, 2)}\n`,
  );
  const jarsNote = jarsMs === undefined ? '' : ` (jars installed with Maven in ${seconds(jarsMs)})`;
  log(`kafka ${version} started on ${HOST}:${KAFKA_PORT} in ${seconds(kafkaStartMs)}${jarsNote}`);
  return { startedKafka: true, kafkaVersion: version, kafkaStartMs, jarsMs };
}

// ---------------------------------------------------------------------------------------------
// Redis

async function waitForRedis(timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await redisPing()) return true;
    await sleep(100);
  }
  return false;
}

async function startRedis(log: (line: string) => void): Promise<boolean> {
  if (await redisPing()) {
    log(`redis reused on ${HOST}:${REDIS_PORT}`);
    return false;
  }
  const own = ownPid(REDIS_PID, 'redis-server');
  if (own !== null) {
    if (!(await waitForRedis(REDIS_READY_TIMEOUT_MS))) {
      throw new ServicesError(
        `redis: redis-server (pid ${own}, started by services.ts) does not answer PING on ${HOST}:${REDIS_PORT}\n${tail(REDIS_LOG, 20)}`,
      );
    }
    log(`redis reused on ${HOST}:${REDIS_PORT} (pid ${own}, started earlier by services.ts)`);
    return false;
  }
  if (await portOpen(REDIS_PORT)) {
    throw new ServicesError(
      `redis: ${HOST}:${REDIS_PORT} is in use by something that does not answer PING; stop it first`,
    );
  }
  fs.mkdirSync(SERVICES_DIR, { recursive: true });
  const started = performance.now();
  let result: RunResult;
  try {
    result = await run(
      'redis-server',
      [
        '--daemonize',
        'yes',
        '--bind',
        HOST,
        '--port',
        String(REDIS_PORT),
        '--save',
        '',
        '--appendonly',
        'no',
        '--pidfile',
        REDIS_PID,
        '--dir',
        SERVICES_DIR,
        '--logfile',
        REDIS_LOG,
      ],
      SERVICES_DIR,
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ServicesError(
        `redis: nothing answers on ${HOST}:${REDIS_PORT} and redis-server is not on PATH (apt-get install redis-server, or start Redis yourself)`,
      );
    }
    throw new ServicesError(`redis: could not run redis-server: ${(err as Error).message}`);
  }
  if (result.code !== 0) {
    throw new ServicesError(
      `redis: redis-server exited with code ${String(result.code)}:\n${result.output.trim()}\n${tail(REDIS_LOG, 20)}`,
    );
  }
  if (!(await waitForRedis(REDIS_READY_TIMEOUT_MS))) {
    throw new ServicesError(
      `redis: started redis-server but ${HOST}:${REDIS_PORT} does not answer PING\n${tail(REDIS_LOG, 20)}`,
    );
  }
  log(`redis started on ${HOST}:${REDIS_PORT} in ${seconds(performance.now() - started)}`);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Public API

/** Brings up Kafka on 127.0.0.1:9092 and Redis on 127.0.0.1:6379, reusing running ones. */
export async function startServices(opts: StartOptions = {}): Promise<StartResult> {
  const log = opts.log ?? defaultLog;
  // Redis first: it is quick, and a missing Redis should fail before a Maven download.
  const startedRedis = await startRedis(log);
  const kafka = await startKafka(log, opts.kafkaTimeoutMs ?? KAFKA_READY_TIMEOUT_MS);
  return { startedRedis, ...kafka };
}

/**
 * A cluster id for `kafka-storage format -t`: 16 random bytes in base64url, like Kafka's own
 * `Uuid.randomUuid()`, which also draws again when the id would start with "-" (the tool would
 * read it as an option; one id in 64 does).
 */
export function kafkaClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/**
 * Installs the broker jars when missing, without starting anything: for tests that run a broker of
 * their own beside one that `startServices` found already running. Returns the ms Maven took, or
 * null when the jars were there.
 */
export async function installKafkaJars(opts: { log?: (line: string) => void } = {}): Promise<number | null> {
  return ensureJars(opts.log ?? defaultLog);
}

/** Stops the broker and redis-server that startServices() started (per the pid files); idempotent. */
export async function stopServices(opts: { log?: (line: string) => void } = {}): Promise<StopResult> {
  const log = opts.log ?? defaultLog;
  const result: StopResult = { stoppedKafka: false, stoppedRedis: false };

  const kafkaPid = ownPid(KAFKA_PID, 'kafka.Kafka');
  if (kafkaPid !== null) {
    const t0 = performance.now();
    const how = await terminate(kafkaPid);
    settleCdsArchive(how === 'terminated');
    log(
      `kafka stopped (pid ${kafkaPid}${how === 'killed' ? ', killed after 30s' : ''}) in ${seconds(performance.now() - t0)}`,
    );
    result.stoppedKafka = true;
  } else {
    settleCdsArchive(false);
    log('kafka: nothing to stop (not started by services.ts)');
  }
  fs.rmSync(KAFKA_PID, { force: true });

  const redisPid = ownPid(REDIS_PID, 'redis-server');
  if (redisPid !== null) {
    const t0 = performance.now();
    const how = await terminate(redisPid);
    log(
      `redis stopped (pid ${redisPid}${how === 'killed' ? ', killed after 30s' : ''}) in ${seconds(performance.now() - t0)}`,
    );
    result.stoppedRedis = true;
  } else {
    log('redis: nothing to stop (not started by services.ts)');
  }
  fs.rmSync(REDIS_PID, { force: true });
  return result;
}

/** One line per service; true when both answer. */
export async function servicesStatus(opts: { log?: (line: string) => void } = {}): Promise<boolean> {
  const log = opts.log ?? defaultLog;
  const kafka = await describeKafka();
  const kafkaPid = ownPid(KAFKA_PID, 'kafka.Kafka');
  const owner = (pid: number | null) =>
    pid !== null ? `started by services.ts, pid ${pid}` : 'not started by services.ts';
  if (kafka) {
    log(`kafka up on ${HOST}:${KAFKA_PORT} (cluster ${kafka.clusterId}, ${owner(kafkaPid)})`);
  } else {
    log(
      `kafka down on ${HOST}:${KAFKA_PORT}${kafkaPid !== null ? ` (pid ${kafkaPid} is running but does not answer)` : ''}`,
    );
  }
  const redis = await redisPing();
  const redisPid = ownPid(REDIS_PID, 'redis-server');
  log(redis ? `redis up on ${HOST}:${REDIS_PORT} (${owner(redisPid)})` : `redis down on ${HOST}:${REDIS_PORT}`);
  return kafka !== null && redis;
}

// ---------------------------------------------------------------------------------------------
// CLI

async function main(argv: string[]): Promise<number> {
  const command = argv[0] ?? 'start';
  try {
    switch (command) {
      case 'start':
        await startServices();
        return 0;
      case 'stop':
        await stopServices();
        return 0;
      case 'status':
        return (await servicesStatus()) ? 0 : 1;
      default:
        process.stderr.write('usage: tsx scripts/services.ts start|stop|status\n');
        return 2;
    }
  } catch (err) {
    process.stderr.write(`${err instanceof ServicesError ? err.message : String((err as Error).stack ?? err)}\n`);
    return 1;
  }
}

const invokedPath = process.argv[1];
if (invokedPath !== undefined && import.meta.url === pathToFileURL(path.resolve(invokedPath)).href) {
  const code = await main(process.argv.slice(2));
  process.exit(code);
}
