/**
 * docker-compose.yml, validated by Docker's own compose tool (`docker compose config`, or
 * Debian's docker-compose v1 where the v2 plugin is missing). No engine is needed or started;
 * the Redis command and healthcheck run for real on the local redis-server.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { freePort } from '../support/process.js';
import { composeTool } from '../support/tools.js';

interface Service {
  image?: string;
  build?: unknown;
  profiles?: string[];
  volumes?: string[];
  depends_on?: Record<string, unknown> | string[];
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
}

const compose = composeTool();
/** The two secrets the stack refuses to start without. */
const SECRETS = {
  REDIS_PASSWORD: `r${randomBytes(12).toString('hex')}`,
  GF_SECURITY_ADMIN_PASSWORD: `g${randomBytes(8).toString('hex')}`,
};

/** `docker compose … config <args>` with `env` as the only secrets set; stdout, or the error's stderr. */
function composeConfig(args: string[], env: Record<string, string>): { ok: boolean; out: string } {
  const [cmd, ...pre] = compose.command();
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !(k in SECRETS))) as Record<
    string,
    string
  >;
  try {
    return {
      ok: true,
      out: execFileSync(cmd!, [...pre, '-f', 'docker-compose.yml', 'config', ...args], {
        encoding: 'utf8',
        env: { ...base, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    };
  } catch (err) {
    return { ok: false, out: (err as { stderr?: string }).stderr ?? String(err) };
  }
}

describe.skipIf(compose.skip)('docker-compose.yml', () => {
  it('passes docker compose config, with and without the demo profile', () => {
    const [cmd, ...pre] = compose.command();
    for (const profile of [[], ['--profile', 'demo']]) {
      try {
        execFileSync(cmd!, [...pre, '-f', 'docker-compose.yml', ...profile, 'config', '-q'], {
          encoding: 'utf8',
          env: { ...process.env, ...SECRETS },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
      } catch (err) {
        throw new Error(
          `${compose.command().join(' ')} config failed:\n${(err as { stderr?: string }).stderr ?? String(err)}`,
        );
      }
    }
    const services = execFileSync(
      cmd!,
      [...pre, '-f', 'docker-compose.yml', '--profile', 'demo', 'config', '--services'],
      { encoding: 'utf8', env: { ...process.env, ...SECRETS } },
    );
    expect(services.trim().split('\n').sort()).toEqual([
      'alertmanager',
      'demo-producer',
      'grafana',
      'kafka',
      'pairguard',
      'prometheus',
      'redis',
    ]);
  });

  it('refuses to start without each secret, naming it', () => {
    for (const name of Object.keys(SECRETS) as Array<keyof typeof SECRETS>) {
      const others = Object.fromEntries(Object.entries(SECRETS).filter(([k]) => k !== name));
      const r = composeConfig(['-q'], others);
      expect(r.ok, name).toBe(false);
      expect(r.out).toContain(`set ${name}`);
    }
  });

  it('gives Redis its password and the append-only file on a volume, pairguard a REDIS_URL with that password, Grafana its admin password', () => {
    const r = composeConfig([], SECRETS);
    expect(r.ok, r.out).toBe(true);
    const resolved = parse(r.out) as { services: Record<string, Service>; volumes?: Record<string, unknown> };
    const { redis, pairguard, grafana } = resolved.services;
    expect(redis!.environment!.REDIS_PASSWORD).toBe(SECRETS.REDIS_PASSWORD);
    expect(redis!.command!.join(' ')).toContain('--appendonly yes');
    expect(redis!.volumes!.some((v) => /^redis-data:\/data(:rw)?$/.test(v))).toBe(true);
    expect(Object.keys(resolved.volumes ?? {})).toContain('redis-data');
    expect(pairguard!.environment!.REDIS_URL).toBe(`redis://:${SECRETS.REDIS_PASSWORD}@redis:6379`);
    expect(pairguard!.environment!.HTTP_HOST).toBe('0.0.0.0');
    expect(grafana!.environment!.GF_SECURITY_ADMIN_PASSWORD).toBe(SECRETS.GF_SECURITY_ADMIN_PASSWORD);
    // The password is in no command line (ps shows those), only in the environment.
    expect(JSON.stringify([redis!.command, redis!.healthcheck])).not.toContain(SECRETS.REDIS_PASSWORD);
  });
});

describe('the compose stack', () => {
  const services = (parse(readFileSync('docker-compose.yml', 'utf8')) as { services: Record<string, Service> })
    .services;

  it('mounts only files that exist in the repository', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const v of s.volumes ?? []) {
        const source = v.split(':')[0]!;
        if (source.startsWith('.')) expect(existsSync(source), `${name} mounts ${source}`).toBe(true);
      }
    }
  });

  it('has no default password: Redis and Grafana take theirs from the environment', () => {
    const raw = readFileSync('docker-compose.yml', 'utf8');
    expect(services.redis!.environment!.REDIS_PASSWORD).toMatch(/^\$\{REDIS_PASSWORD:\?/);
    expect(services.grafana!.environment!.GF_SECURITY_ADMIN_PASSWORD).toMatch(/^\$\{GF_SECURITY_ADMIN_PASSWORD:\?/);
    expect(raw).not.toMatch(/admin\/admin/);
  });

  it("Redis's command and healthcheck, run on the local redis-server: a password is required, the append-only file is on", async () => {
    // The container's command, as compose hands it to the shell ($$ is compose's escape of $),
    // with a port and directory of its own so the shared Redis is untouched.
    const [shell, flag, script] = services.redis!.command!;
    expect([shell, flag]).toEqual(['sh', '-c']);
    const port = await freePort();
    const dir = mkdtempSync(path.join(tmpdir(), 'pairguard-compose-redis-'));
    const password = SECRETS.REDIS_PASSWORD;
    const server = spawn(
      'sh',
      ['-c', `${script!.replaceAll('$$', '$')} --port ${port} --bind 127.0.0.1 --dir ${dir}`],
      { env: { ...process.env, REDIS_PASSWORD: password }, stdio: 'ignore' },
    );
    const client = new Redis({ port, password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      for (let i = 0; ; i++) {
        try {
          await client.connect();
          break;
        } catch (err) {
          if (i > 50) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      const anonymous = new Redis({
        port,
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        enableReadyCheck: false,
        retryStrategy: () => null,
      });
      anonymous.on('error', () => undefined);
      await anonymous.connect();
      await expect(anonymous.ping()).rejects.toThrow(/NOAUTH/);
      anonymous.disconnect();
      const [, check] = services.redis!.healthcheck!.test;
      const healthcheck = (pw: string) => {
        try {
          execFileSync('sh', ['-c', check!.replaceAll('$$', '$').replace('redis-cli', `redis-cli -p ${port}`)], {
            env: { ...process.env, REDIS_PASSWORD: pw },
            stdio: 'ignore',
          });
          return 0;
        } catch (err) {
          return (err as { status: number }).status;
        }
      };
      expect(healthcheck(password)).toBe(0);
      expect(healthcheck('wrong')).not.toBe(0);
    } finally {
      await client.shutdown('NOSAVE').catch(() => undefined);
      client.disconnect();
      if (server.exitCode === null) await new Promise((r) => server.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs the demo producer only in the demo profile, from the pairguard image', () => {
    expect(services['demo-producer']!.profiles).toEqual(['demo']);
    expect(services['demo-producer']!.image).toBe(services.pairguard!.image);
    for (const [name, s] of Object.entries(services))
      if (name !== 'demo-producer') expect(s.profiles, name).toBeUndefined();
    expect(existsSync('src/demo/producer.ts')).toBe(true);
  });
});
