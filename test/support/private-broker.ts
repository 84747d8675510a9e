/**
 * A second, private single-node Kafka for tests that stop and restart a broker, so the shared one
 * on 9092 is never disturbed. It uses the jars `npm run services` installed, free ports, and its
 * own data directory, which survives a restart as a real broker's does.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { installKafkaJars, kafkaClusterId } from '../../scripts/services.js';
import { freePort } from './process.js';

const LIBS = path.resolve('.services/kafka/libs');
const LOG4J = path.resolve('scripts/kafka/log4j2.yaml');

export class PrivateBroker {
  private process: ChildProcess | null = null;
  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly props: string,
  ) {}

  get brokers(): string {
    return `127.0.0.1:${this.port}`;
  }

  static async create(): Promise<PrivateBroker> {
    // `npm run services` skips the jars when it finds a broker already running.
    await installKafkaJars({ log: () => undefined });
    if (!existsSync(LIBS)) throw new Error(`no Kafka jars in ${LIBS}`);
    const [port, controller] = [await freePort(), await freePort()];
    const dir = mkdtempSync(path.join(tmpdir(), 'pairguard-broker-'));
    const props = path.join(dir, 'server.properties');
    writeFileSync(
      props,
      [
        'process.roles=broker,controller',
        'node.id=1',
        `controller.quorum.voters=1@127.0.0.1:${controller}`,
        `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controller}`,
        `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
        'inter.broker.listener.name=PLAINTEXT',
        'controller.listener.names=CONTROLLER',
        'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
        `log.dirs=${path.join(dir, 'data')}`,
        'offsets.topic.replication.factor=1',
        'offsets.topic.num.partitions=1',
        'transaction.state.log.replication.factor=1',
        'transaction.state.log.min.isr=1',
        'share.coordinator.state.topic.replication.factor=1',
        'share.coordinator.state.topic.min.isr=1',
        'auto.create.topics.enable=false',
        'group.initial.rebalance.delay.ms=0',
        'num.network.threads=2',
        'num.io.threads=2',
        'log.cleaner.dedupe.buffer.size=1048577',
        '',
      ].join('\n'),
    );
    const clusterId = kafkaClusterId();
    execFileSync('java', ['-Xmx256m', `-Dlog4j2.configurationFile=${LOG4J}`, `-Dkafka.logs.dir=${dir}`, '-cp', `${LIBS}/*`, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props, '--ignore-formatted'], { stdio: 'ignore' });
    const broker = new PrivateBroker(port, dir, props);
    await broker.start();
    return broker;
  }

  /** Starts the broker on its existing data and waits until it answers. */
  async start(): Promise<void> {
    const out = openSync(path.join(this.dir, 'java.out'), 'a');
    this.process = spawn('java', ['-Xms128m', '-Xmx512m', `-Dlog4j2.configurationFile=${LOG4J}`, `-Dkafka.logs.dir=${this.dir}`, '-cp', `${LIBS}/*`, 'kafka.Kafka', this.props], { stdio: ['ignore', out, out] });
    const admin = new Kafka({ clientId: 'private-broker-probe', brokers: [this.brokers], logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
    const deadline = Date.now() + 90_000;
    for (;;) {
      try {
        await admin.connect();
        await admin.describeCluster();
        await admin.disconnect();
        return;
      } catch {
        await admin.disconnect().catch(() => undefined);
        if (Date.now() > deadline) throw new Error(`private broker on ${this.brokers} did not answer in 90 s`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  /** Stops the broker (SIGTERM, a clean shutdown) and waits for it to exit. */
  async stop(): Promise<void> {
    const p = this.process;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
