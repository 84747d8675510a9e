/** A private three-master Redis Cluster on free loopback ports, for tests of cluster mode. */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { waitFor } from './harness.js';
import { freePort } from './process.js';

const run = promisify(execFile);
/** Redis Cluster talks node to node on the client port + 10000. */
const BUS_OFFSET = 10_000;

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer()
      .once('error', () => resolve(false))
      .listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A free port whose cluster-bus port is free too. */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (
      port + BUS_OFFSET <= 65535 &&
      !taken.has(port) &&
      !taken.has(port + BUS_OFFSET) &&
      (await bindable(port + BUS_OFFSET))
    )
      return port;
  }
}

function spawnNode(port: number, dir: string): ChildProcess {
  return spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      path.join(dir, `nodes-${port}.conf`),
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--daemonize',
      'no',
    ],
    { stdio: 'ignore' },
  );
}

export class PrivateRedisCluster {
  private constructor(
    readonly ports: number[],
    private readonly dir: string,
    private readonly processes: ChildProcess[],
  ) {}

  /** `redis-cluster://` URL naming every node, as REDIS_URL takes it. */
  get url(): string {
    return `redis-cluster://${this.ports.map((p) => `127.0.0.1:${p}`).join(',')}`;
  }

  static async start(masters = 3): Promise<PrivateRedisCluster> {
    const dir = mkdtempSync(path.join(tmpdir(), 'pairguard-redis-cluster-'));
    const taken = new Set<number>();
    const ports: number[] = [];
    for (let i = 0; i < masters; i++) {
      const port = await freeClusterPort(taken);
      taken.add(port).add(port + BUS_OFFSET);
      ports.push(port);
    }
    const processes = ports.map((port) => spawnNode(port, dir));
    const cluster = new PrivateRedisCluster(ports, dir, processes);
    try {
      for (const port of ports) await waitFor(`redis on ${port}`, () => cluster.answers(port));
      await run('redis-cli', [
        '--cluster',
        'create',
        ...ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ]);
      await waitFor(
        'cluster_state:ok on every node',
        async () => (await Promise.all(ports.map((p) => cluster.info(p)))).every((i) => /cluster_state:ok/.test(i)),
        30_000,
      );
    } catch (err) {
      await cluster.destroy();
      throw err;
    }
    return cluster;
  }

  /**
   * SIGKILLs one master and starts it again with its cluster config (same id, same slots) and no
   * data, as a master without persistence comes back; resolves when the cluster is ok again.
   */
  async restartEmpty(port: number): Promise<void> {
    const i = this.ports.indexOf(port);
    const p = this.processes[i]!;
    if (p.exitCode === null && p.signalCode === null) {
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGKILL');
      await exited;
    }
    this.processes[i] = spawnNode(port, this.dir);
    await waitFor(`redis on ${port}`, () => this.answers(port));
    await waitFor(
      'cluster_state:ok on every node',
      async () =>
        (await Promise.all(this.ports.map((q) => this.info(q)))).every((info) => /cluster_state:ok/.test(info)),
      30_000,
    );
  }

  /** A direct client of one node (not cluster-aware: it sees only that node's keys). */
  node(port: number): Redis {
    return new Redis({
      host: '127.0.0.1',
      port,
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
    });
  }

  async destroy(): Promise<void> {
    await Promise.all(
      this.processes.map((p) => {
        if (p.exitCode !== null || p.signalCode !== null) return undefined;
        const exited = new Promise((r) => p.once('exit', r));
        p.kill('SIGKILL');
        return exited;
      }),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async info(port: number): Promise<string> {
    const r = this.node(port);
    r.on('error', () => undefined);
    try {
      await r.connect();
      return (await r.call('CLUSTER', 'INFO')) as string;
    } catch {
      return '';
    } finally {
      r.disconnect();
    }
  }

  private async answers(port: number): Promise<boolean> {
    const r = this.node(port);
    r.on('error', () => undefined);
    const ok = await r
      .connect()
      .then(() => r.ping())
      .then(
        () => true,
        () => false,
      );
    r.disconnect();
    return ok;
  }
}
