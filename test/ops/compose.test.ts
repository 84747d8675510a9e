/**
 * docker-compose.yml, validated by Docker's own compose tool (`docker compose config`, or
 * Debian's docker-compose v1 where the v2 plugin is missing). No engine is needed or started.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { composeTool } from '../support/tools.js';

interface Service {
  image?: string;
  build?: unknown;
  profiles?: string[];
  volumes?: string[];
  depends_on?: Record<string, unknown> | string[];
}

const compose = composeTool();

describe.skipIf(compose.skip)('docker-compose.yml', () => {
  it('passes docker compose config, with and without the demo profile', () => {
    const [cmd, ...pre] = compose.command();
    for (const profile of [[], ['--profile', 'demo']]) {
      try {
        execFileSync(cmd!, [...pre, '-f', 'docker-compose.yml', ...profile, 'config', '-q'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (err) {
        throw new Error(`${compose.command().join(' ')} config failed:\n${(err as { stderr?: string }).stderr ?? String(err)}`);
      }
    }
    const services = execFileSync(cmd!, [...pre, '-f', 'docker-compose.yml', '--profile', 'demo', 'config', '--services'], { encoding: 'utf8' });
    expect(services.trim().split('\n').sort()).toEqual(['alertmanager', 'demo-producer', 'grafana', 'kafka', 'pairguard', 'prometheus', 'redis']);
  });
});

describe('the compose stack', () => {
  const services = (parse(readFileSync('docker-compose.yml', 'utf8')) as { services: Record<string, Service> }).services;

  it('mounts only files that exist in the repository', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const v of s.volumes ?? []) {
        const source = v.split(':')[0]!;
        if (source.startsWith('.')) expect(existsSync(source), `${name} mounts ${source}`).toBe(true);
      }
    }
  });

  it('runs the demo producer only in the demo profile, from the pairguard image', () => {
    expect(services['demo-producer']!.profiles).toEqual(['demo']);
    expect(services['demo-producer']!.image).toBe(services.pairguard!.image);
    for (const [name, s] of Object.entries(services)) if (name !== 'demo-producer') expect(s.profiles, name).toBeUndefined();
    expect(existsSync('src/demo/producer.ts')).toBe(true);
  });
});
