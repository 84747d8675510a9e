/** Running `pairguard` as a real process against a test environment. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import type { TestEnv } from './harness.js';

export const BIN = 'bin/pairguard.js';

/** The environment that points a `pairguard` process at a test environment's topics, group and keys. */
export function processEnv(e: TestEnv, port: number, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const c = e.config;
  return {
    ...process.env,
    KAFKA_BROKERS: c.kafkaBrokers.join(','),
    REDIS_URL: c.redisUrl,
    REDIS_KEY_PREFIX: c.redisKeyPrefix,
    PAIRGUARD_GROUP_ID: c.groupId,
    HTTP_PORT: String(port),
    TOPIC_APPROVALS: c.topics.approvals,
    TOPIC_MEMBERSHIP: c.topics.membership,
    TOPIC_MESSAGES: c.topics.messages,
    TOPIC_ALERTS: c.topics.alerts,
    TOPIC_CONTROL: c.topics.control,
    TOPIC_DEAD_LETTER: c.topics.deadLetter,
    ...extra,
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** A started `pairguard run` whose output is collected. */
export interface RunningMonitor {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

export function startProcess(args: string[], vars: NodeJS.ProcessEnv): RunningMonitor {
  const child = spawn(process.execPath, [BIN, ...args], { env: vars });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

export function runToEnd(
  args: string[],
  vars: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { env: vars });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
