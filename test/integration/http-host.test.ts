/**
 * HTTP_HOST, on a real monitor: 127.0.0.1 (a host install) answers on loopback and refuses
 * connections on the machine's other addresses; the default, 0.0.0.0 (a container), answers on both.
 */
import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import type { Monitor } from '../../src/monitor.js';
import type { TestEnv } from '../support/harness.js';
import { createTestEnv } from '../support/harness.js';

let env: TestEnv | null = null;
afterEach(async () => {
  await env?.cleanup();
  env = null;
});

/** An IPv4 address of this machine that is not loopback, if it has one. */
const external = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

/** The HTTP status of /healthz at `host`, or the connection error's code. */
async function healthAt(host: string, m: Monitor): Promise<number | string> {
  try {
    return (await fetch(`http://${host}:${m.httpPort}/healthz`)).status;
  } catch (err) {
    return ((err as Error).cause as { code?: string } | undefined)?.code ?? (err as Error).message;
  }
}

describe.skipIf(!external)('HTTP_HOST', () => {
  it('127.0.0.1 serves loopback only; the default serves every address', { timeout: 60_000 }, async () => {
    env = await createTestEnv({ partitions: 1, env: { HTTP_HOST: '127.0.0.1' } });
    const local = await env.startMonitor();
    expect(env.config.httpHost).toBe('127.0.0.1');
    expect(await healthAt('127.0.0.1', local)).toBe(200);
    expect(await healthAt(external!, local)).toBe('ECONNREFUSED');

    const everywhere = await env.startMonitor({ httpHost: '0.0.0.0' });
    expect(await healthAt('127.0.0.1', everywhere)).toBe(200);
    expect(await healthAt(external!, everywhere)).toBe(200);
  });
});
