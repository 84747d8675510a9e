/** The commands a user types: `pairguard run` and `pairguard replay`, as real processes. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import type { AlertRecord } from '../../src/actions/records.js';
import type { TestEnv } from '../support/harness.js';
import { createTestEnv, readTopic, waitFor } from '../support/harness.js';
import { BIN, freePort, processEnv as envVars, runToEnd as run } from '../support/process.js';

let env: TestEnv;
let child: ChildProcess | null = null;

beforeAll(() => {
  // The bin runs the compiled CLI: build it as `npm install` does.
  execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
});

afterEach(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  child = null;
  await env?.cleanup();
});

describe('the pairguard command', () => {
  it('runs the monitor, takes a replayed fixture, and stops cleanly on SIGTERM', async () => {
    env = await createTestEnv();
    const port = await freePort();
    const vars = envVars(env, port);
    child = spawn(process.execPath, [BIN, 'run'], { env: vars });
    let logs = '';
    child.stdout!.on('data', (d) => (logs += d));
    child.stderr!.on('data', (d) => (logs += d));
    const exited = new Promise<number | null>((resolve) => child!.on('exit', resolve));

    await waitFor('/readyz 200', async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status === 200, 60_000).catch(async (e) => {
      throw new Error(`${e.message}: ${await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.text()).catch(String)}\n${logs}`);
    });
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);

    const replayed = await run(['replay', 'test/fixtures/flaw-2019.jsonl'], vars);
    expect(replayed.code).toBe(0);
    expect(replayed.stdout).toMatch(/^replayed 10 records \(7 approvals, 1 membership, 2 messages\) in [\d.]+ s\n$/);

    const alerts = await waitFor('the alert', async () => {
      const a = await readTopic<AlertRecord>(env.admin, env.config.topics.alerts);
      return a.length > 0 ? a : null;
    });
    expect(alerts.map((a) => a.value.pair)).toEqual([['bob', 'carol']]);

    child.kill('SIGTERM');
    const stopAsked = Date.now();
    expect(await exited).toBe(0);
    // Graceful stop is bounded: every shutdown step has its own timeout.
    expect(Date.now() - stopAsked).toBeLessThan(15_000);
    const lines = logs.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { msg: string; level: number });
    expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['pairguard started', 'unapproved pairing', 'chat freeze requested', 'pairguard stopped']));
    expect(logs).not.toContain('SENTINEL');
  });

  it('refuses a bad setting with one line naming it', async () => {
    env = await createTestEnv();
    const r = await run(['run'], { ...envVars(env, 0), PAIRGUARD_MODE: 'freeze-all' });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('pairguard: invalid PAIRGUARD_MODE: Invalid option: expected one of "enforce"|"alert-only" (got "freeze-all")\n');
  });

  it('replay refuses a line it cannot route, naming the line', async () => {
    env = await createTestEnv();
    const { writeFileSync } = await import('node:fs');
    const file = `/tmp/${env.id}.jsonl`;
    writeFileSync(file, '{"type":"user.registered","eventId":"e","occurredAt":"2026-01-01T00:00:00Z","userId":"u","role":"child"}\n{"type":"chat.deleted"}\n');
    const r = await run(['replay', file], envVars(env, 0));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('pairguard: line 2: unknown event type "chat.deleted"\n');
  });
});
