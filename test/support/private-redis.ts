/** A private redis-server on a free port, for tests that kill and restart Redis. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { waitFor } from './harness.js';
import { freePort } from './process.js';

export class PrivateRedis {
  private process: ChildProcess | null = null;
  private constructor(
    readonly port: number,
    private readonly dir: string,
    /** Keep data across restarts (append-only file, fsync on every write), as production should. */
    private readonly persist: boolean,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(opts: { persist: boolean }): Promise<PrivateRedis> {
    const r = new PrivateRedis(await freePort(), mkdtempSync(path.join(tmpdir(), 'pairguard-redis-')), opts.persist);
    await r.restart();
    return r;
  }

  /** Starts (again) on the same port and directory, and waits until it answers. */
  async restart(): Promise<void> {
    const persistence = this.persist ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
    this.process = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--dir', this.dir], { stdio: 'ignore' });
    await waitFor(`redis on ${this.port}`, () => this.answers());
  }

  /** SIGKILL: no shutdown, nothing saved beyond what was already on disk. */
  async kill(): Promise<void> {
    const p = this.process;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  }

  async destroy(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async answers(): Promise<boolean> {
    const r = new Redis(this.url, { lazyConnect: true, retryStrategy: () => null });
    r.on('error', () => undefined);
    const ok = await r.connect().then(() => r.ping()).then(() => true, () => false);
    r.disconnect();
    return ok;
  }
}
