/**
 * A second, private single-node Kafka for tests that stop and restart a broker, so the shared one
 * on 9092 is never disturbed. It uses the jars `npm run services` installed, free ports, and its
 * own data directory, which survives a restart as a real broker's does.
 *
 * `create({ secured: true })` adds the listeners a production cluster has, beside the PLAINTEXT
 * one (kept for the controller, inter-broker traffic and the tests' own admin client):
 *
 *   SASL_SSL  PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 over TLS (no client certificate)
 *   SSL       TLS that requires a client certificate signed by the test CA (mTLS)
 *
 * with certificates made by test-certificates.ts. SCRAM users are written at format time
 * (`kafka-storage format --add-scram`), PLAIN users live in the listener's JAAS config.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { installKafkaJars, kafkaClusterId } from '../../scripts/services.js';
import { freePort } from './process.js';
import type { TestCertificates } from './test-certificates.js';
import { makeTestCertificates } from './test-certificates.js';

const LIBS = path.resolve('.services/kafka/libs');
const LOG4J = path.resolve('scripts/kafka/log4j2.yaml');

/** The users of a secured broker: the same name and password for every SASL mechanism. */
export const SASL_USERS = { pairguard: 'pairguard-secret-0a9f', other: 'other-secret-77c1' } as const;

/** The secured listeners and the files a client needs to use them. */
export interface SecuredListeners {
  /** host:port of the SASL_SSL listener. */
  saslSsl: string;
  /** host:port of the SSL listener that requires a client certificate. */
  mtls: string;
  /** The PEM files (CA, client certificate and key, an unrelated CA). */
  certificates: TestCertificates;
}

export class PrivateBroker {
  private process: ChildProcess | null = null;
  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly props: string,
    /** Present when created with `secured: true`. */
    readonly secured: SecuredListeners | null,
  ) {}

  /** host:port of the PLAINTEXT listener. */
  get brokers(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** `properties`: extra server.properties lines (an authorizer and its super users, say). */
  static async create(opts: { secured?: boolean; properties?: readonly string[] } = {}): Promise<PrivateBroker> {
    // `npm run services` skips the jars when it finds a broker already running.
    await installKafkaJars({ log: () => undefined });
    if (!existsSync(LIBS)) throw new Error(`no Kafka jars in ${LIBS}`);
    const [port, controller] = [await freePort(), await freePort()];
    const dir = mkdtempSync(path.join(tmpdir(), 'pairguard-broker-'));
    const props = path.join(dir, 'server.properties');
    const secured = opts.secured
      ? {
          saslSsl: `127.0.0.1:${await freePort()}`,
          mtls: `127.0.0.1:${await freePort()}`,
          certificates: makeTestCertificates(dir),
        }
      : null;
    const listeners = [
      `PLAINTEXT://127.0.0.1:${port}`,
      ...(secured ? [`SASL_SSL://${secured.saslSsl}`, `SSL://${secured.mtls}`] : []),
    ];
    writeFileSync(
      props,
      [
        'process.roles=broker,controller',
        'node.id=1',
        `controller.quorum.voters=1@127.0.0.1:${controller}`,
        `listeners=${[...listeners, `CONTROLLER://127.0.0.1:${controller}`].join(',')}`,
        `advertised.listeners=${listeners.join(',')}`,
        'inter.broker.listener.name=PLAINTEXT',
        'controller.listener.names=CONTROLLER',
        `listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT${secured ? ',SASL_SSL:SASL_SSL,SSL:SSL' : ''}`,
        ...(secured ? securedProperties(secured.certificates) : []),
        ...(opts.properties ?? []),
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
    const scram = secured
      ? Object.entries(SASL_USERS).flatMap(([name, password]) =>
          ['SCRAM-SHA-256', 'SCRAM-SHA-512'].flatMap((m) => [
            '--add-scram',
            `${m}=[name=${name},password=${password}]`,
          ]),
        )
      : [];
    execFileSync(
      'java',
      [
        '-Xmx256m',
        `-Dlog4j2.configurationFile=${LOG4J}`,
        `-Dkafka.logs.dir=${dir}`,
        '-cp',
        `${LIBS}/*`,
        'kafka.tools.StorageTool',
        'format',
        '-t',
        clusterId,
        '-c',
        props,
        '--ignore-formatted',
        ...scram,
      ],
      { stdio: 'ignore' },
    );
    const broker = new PrivateBroker(port, dir, props, secured);
    await broker.start();
    return broker;
  }

  /** Starts the broker on its existing data and waits until it answers. */
  async start(): Promise<void> {
    const out = openSync(path.join(this.dir, 'java.out'), 'a');
    this.process = spawn(
      'java',
      [
        '-Xms128m',
        '-Xmx512m',
        `-Dlog4j2.configurationFile=${LOG4J}`,
        `-Dkafka.logs.dir=${this.dir}`,
        '-cp',
        `${LIBS}/*`,
        'kafka.Kafka',
        this.props,
      ],
      { stdio: ['ignore', out, out] },
    );
    const admin = new Kafka({
      clientId: 'private-broker-probe',
      brokers: [this.brokers],
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    }).admin();
    const deadline = Date.now() + 90_000;
    for (;;) {
      try {
        await admin.connect();
        await admin.describeCluster();
        // A fresh broker answers "coordinator is loading" until its offsets topic is up; a first
        // start of the monitor would take that for a failure.
        await admin.fetchOffsets({ groupId: 'private-broker-probe' });
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

/** TLS and SASL settings of the SASL_SSL and SSL listeners (PEM keystore and truststore, Kafka 2.7+). */
function securedProperties(certs: TestCertificates): string[] {
  const plainUsers = Object.entries(SASL_USERS)
    .map(([name, password]) => `user_${name}="${password}"`)
    .join(' ');
  return [
    'ssl.keystore.type=PEM',
    `ssl.keystore.location=${certs.serverKeystoreFile}`,
    'ssl.truststore.type=PEM',
    `ssl.truststore.location=${certs.caFile}`,
    'listener.name.ssl.ssl.client.auth=required',
    'listener.name.sasl_ssl.ssl.client.auth=none',
    'sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
    'listener.name.sasl_ssl.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
    `listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required ${plainUsers};`,
    'listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
    'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
  ];
}
