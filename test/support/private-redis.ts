/**
 * A private redis-server on a free port, for tests that kill and restart Redis, or that need
 * authentication: a password for the default user (`--requirepass`) and ACL users (`--user`).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { waitFor } from './harness.js';
import { freePort } from './process.js';

/** An ACL user: its name, password and rules in ACL SETUSER syntax (e.g. `~pg:*`, `+get`). */
export interface RedisAclUser {
  name: string;
  password: string;
  rules: readonly string[];
}

export interface PrivateRedisOptions {
  /** Keep data across restarts (append-only file, fsync on every write), as production should. */
  persist: boolean;
  /** Password of the default user; without it anyone may connect. */
  password?: string;
  /** ACL users besides the default one. */
  users?: readonly RedisAclUser[];
  /** More redis-server arguments, e.g. ['--maxmemory-policy', 'allkeys-lru']. */
  args?: readonly string[];
}

export class PrivateRedis {
  private process: ChildProcess | null = null;
  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly opts: PrivateRedisOptions,
  ) {}

  /** The default user's URL (with its password when it has one). */
  get url(): string {
    return this.opts.password === undefined
      ? `redis://127.0.0.1:${this.port}`
      : this.urlFor('default', this.opts.password);
  }

  /** A URL that logs in as `user` with `password`. */
  urlFor(user: string, password: string): string {
    return `redis://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${this.port}`;
  }

  static async start(opts: PrivateRedisOptions): Promise<PrivateRedis> {
    const r = new PrivateRedis(await freePort(), mkdtempSync(path.join(tmpdir(), 'pairguard-redis-')), opts);
    await r.restart();
    return r;
  }

  /** Starts (again) on the same port and directory, and waits until it answers. */
  async restart(): Promise<void> {
    const persistence = this.opts.persist ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
    // Each ACL rule is an argument of its own: redis-server joins `--user` and what follows into one config line.
    const auth = [
      ...(this.opts.password === undefined ? [] : ['--requirepass', this.opts.password]),
      ...(this.opts.users ?? []).flatMap((u) => ['--user', u.name, 'on', `>${u.password}`, ...u.rules]),
    ];
    this.process = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        ...persistence,
        '--dir',
        this.dir,
        ...auth,
        ...(this.opts.args ?? []),
      ],
      { stdio: 'ignore' },
    );
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
