/** The commands a user types: `pairguard run` and `pairguard replay`, as real processes. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
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

    await waitFor(
      '/readyz 200',
      async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status === 200,
      60_000,
    ).catch(async (e) => {
      throw new Error(
        `${e.message}: ${await fetch(`http://127.0.0.1:${port}/readyz`)
          .then((r) => r.text())
          .catch(String)}\n${logs}`,
      );
    });
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    // Which pairguard runs: the version and the revision the build recorded, on /metrics and on --version.
    const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
    const revision = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8' }).trim();
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toContain(
      `pairguard_build_info{version="${version}",revision="${revision}",node="${process.version}"} 1`,
    );
    expect(await run(['--version'], vars)).toEqual({
      code: 0,
      stdout: `pairguard ${version} (revision ${revision}, node ${process.version})\n`,
      stderr: '',
    });

    // Nothing on the topics yet: the audit finds nothing and exits 0.
    expect(await run(['audit'], vars)).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^0 chats in violation \(0 ongoing, 0 frozen\)/),
    });

    const replayed = await run(['replay', 'test/fixtures/flaw-2019.jsonl'], vars);
    expect(replayed.code).toBe(0);
    expect(replayed.stdout).toMatch(/^replayed 10 records \(7 approvals, 1 membership, 2 messages\) in [\d.]+ s\n$/);

    const alerts = await waitFor('the alert', async () => {
      const a = await readTopic<AlertRecord>(env.admin, env.config.topics.alerts);
      return a.length > 0 ? a : null;
    });
    expect(alerts.map((a) => a.value.pair)).toEqual([['bob', 'carol']]);

    // The audit judges the same history without acting, and sees pairguard's freeze on the control topic.
    await waitFor('the freeze', async () => (await readTopic(env.admin, env.config.topics.control)).length > 0);
    const html = `/tmp/${env.id}-report.html`;
    const audited = await run(['audit', '--json', '--html', html], vars);
    // A chat in violation is a finding: exit 1, so CI and cron jobs can gate on it.
    expect(audited.code).toBe(1);
    expect(audited.stderr).toContain(`audit report written to ${html}\n`);
    // The installed package finds Chart.js and inlines it; the page names the chat and no text.
    const page = readFileSync(html, 'utf8');
    rmSync(html, { force: true });
    expect(page).toContain('Chart.js v4');
    expect(page).toContain('group-1');
    expect(page).not.toContain('SENTINEL');
    const report = JSON.parse(audited.stdout) as {
      summary: { events: number; chats: number };
      chats: Array<Record<string, unknown>>;
    };
    expect(report.summary).toMatchObject({ events: 10, chats: 1 });
    expect(report.chats).toMatchObject([
      {
        chatId: 'group-1',
        pairs: [
          {
            pair: ['bob', 'carol'],
            episodes: [{ start: '2026-11-21T09:00:02.000Z', end: null, ongoing: true, durationMs: 2000 }],
          },
        ],
        firstOffending: {
          eventId: 'flaw-2019-8',
          type: 'chat.created',
          topic: env.config.topics.membership,
          occurredAt: '2026-11-21T09:00:02.000Z',
        },
        lastOffending: { eventId: 'flaw-2019-10', type: 'message.sent', topic: env.config.topics.messages },
        violationMs: 2000,
        ongoing: true,
        frozen: true,
      },
    ]);
    const table = await run(['audit'], vars);
    expect(table.code).toBe(1);
    expect(table.stdout).toMatch(
      /^CHAT +PAIRS +FIRST OFFENDING EVENT +LAST OFFENDING EVENT +IN VIOLATION +FROZEN\ngroup-1 +bob\+carol +2026-11-21 09:00:02Z chat.created .*2s \(ongoing\) +yes\n1 chat in violation \(1 ongoing, 1 frozen\)/,
    );
    expect(audited.stdout + table.stdout).not.toContain('SENTINEL');

    child.kill('SIGTERM');
    const stopAsked = Date.now();
    expect(await exited).toBe(0);
    // Graceful stop is bounded: every shutdown step has its own timeout.
    expect(Date.now() - stopAsked).toBeLessThan(15_000);
    const lines = logs
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { msg: string; level: number });
    expect(lines.map((l) => l.msg)).toEqual(
      expect.arrayContaining(['pairguard started', 'unapproved pairing', 'chat freeze requested', 'pairguard stopped']),
    );
    expect(lines.find((l) => l.msg === 'pairguard started')).toMatchObject({ version, revision });
    expect(logs).not.toContain('SENTINEL');
  });

  it('refuses a bad setting with one line naming it', async () => {
    env = await createTestEnv();
    const r = await run(['run'], { ...envVars(env, 0), PAIRGUARD_MODE: 'freeze-all' });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'pairguard: invalid PAIRGUARD_MODE: Invalid option: expected one of "enforce"|"alert-only" (got "freeze-all")\n',
    );
  });

  it('replay refuses a line it cannot route, naming the line', async () => {
    env = await createTestEnv();
    const { rmSync, writeFileSync } = await import('node:fs');
    const file = `/tmp/${env.id}.jsonl`;
    writeFileSync(
      file,
      '{"type":"user.registered","eventId":"e","occurredAt":"2026-01-01T00:00:00Z","userId":"u","role":"child"}\n{"type":"chat.deleted"}\n',
    );
    const r = await run(['replay', file], envVars(env, 0)).finally(() => rmSync(file, { force: true }));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('pairguard: line 2: unknown event type "chat.deleted"\n');
  });

  it('generates a history deterministically, replays it at a rate into prefixed topics, audits and exports it', async () => {
    env = await createTestEnv();
    const vars = envVars(env, 0);
    const file = `/tmp/${env.id}.jsonl`;
    const gen = ['generate', '--seed', '3', '--events', '600', '--rate-unknown-user', '60', '-o', file];
    const first = await run(gen, vars);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(
      new RegExp(
        `^generated 600 events to ${file} \\(.*\\); \\d+ chats must be flagged .*: answers in /tmp/${env.id}.answers.json\\n$`,
      ),
    );
    const bytes = readFileSync(file, 'utf8');
    const again = await run([...gen, '--json'], vars);
    expect(again.code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(bytes);
    const answers = JSON.parse(readFileSync(`/tmp/${env.id}.answers.json`, 'utf8')) as {
      chats: Array<{ chatId: string; ongoing: boolean }>;
    };
    expect(answers.chats.length).toBeGreaterThan(0);
    expect(JSON.parse(again.stdout)).toMatchObject({
      out: file,
      answers: `/tmp/${env.id}.answers.json`,
      events: 600,
      flaggedChats: answers.chats.length,
      ongoingChats: answers.chats.filter((c) => c.ongoing).length,
      options: { seed: 3 },
    });

    const prefix = `${env.id}.p.`;
    try {
      const started = Date.now();
      const replayed = await run(['replay', file, '--rate', '2000', '--topic-prefix', prefix, '--json'], vars);
      expect(replayed.stderr).toBe('');
      const r = JSON.parse(replayed.stdout) as { records: number; byRole: Record<string, number>; seconds: number };
      expect(r.records).toBe(600);
      expect(r.byRole.approvals! + r.byRole.membership! + r.byRole.messages!).toBe(600);
      expect(Date.now() - started).toBeGreaterThanOrEqual(250); // 600 events at 2,000 a second

      const audited = await run(['audit', '--json', '--topic-prefix', prefix], vars);
      expect(audited.code).toBe(1);
      const report = JSON.parse(audited.stdout) as { chats: Array<{ chatId: string }> };
      expect(report.chats.map((c) => c.chatId).sort()).toEqual(answers.chats.map((c) => c.chatId).sort());

      const out = `/tmp/${env.id}-export.jsonl`;
      const exported = await run(['export', '--topic-prefix', prefix, '-o', out], vars);
      expect(exported.stdout).toMatch(
        /^exported 600 records \(.*; 0 raw, \d+ with text removed\) to \S+ in [\d.]+ s\n$/,
      );
      // With the records on stdout, the --json summary goes to stderr.
      const piped = await run(['export', '--topic-prefix', prefix, '--json'], vars);
      expect(piped.stdout.trim().split('\n')).toHaveLength(600);
      expect(JSON.parse(piped.stderr.split('\n').find((l) => l.startsWith('{'))!)).toMatchObject({
        records: 600,
        raw: 0,
        out: null,
      });
      expect(bytes).toContain('"text"');
      expect(readFileSync(out, 'utf8')).not.toContain('"text"');
    } finally {
      for (const f of [file, `/tmp/${env.id}.answers.json`, `/tmp/${env.id}-export.jsonl`]) rmSync(f, { force: true });
      const topics = (await env.admin.listTopics()).filter((t) => t.startsWith(prefix));
      await env.admin.deleteTopics({ topics }).catch(() => undefined);
    }
  });

  it('refuses bad flags with one line naming the flag; exports pairguard/testing to other packages', async () => {
    env = await createTestEnv();
    const keys = execFileSync(
      process.execPath,
      ['-e', "import('pairguard/testing').then((m) => process.stdout.write(Object.keys(m).join(',')))"],
      { encoding: 'utf8' },
    );
    expect(keys).toBe('createPairguardTestEnv');
    const vars = envVars(env, 0);
    expect(await run(['audit', '--since', 'yesterday'], vars)).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'pairguard: invalid --since: must be an ISO-8601 date-time such as 2026-11-21T09:00:00Z (got "yesterday")\n',
    });
    expect(await run(['replay', 'x.jsonl', '--rate', 'fast'], vars)).toEqual({
      code: 2,
      stdout: '',
      stderr: 'pairguard: invalid --rate: must be a number (got "fast")\n',
    });
    expect(await run(['generate', '--events', '0'], vars)).toMatchObject({
      code: 2,
      stderr: 'pairguard: invalid --events: Too small: expected number to be >=1 (got "0")\n',
    });
    expect(await run(['export', '--format', 'csv'], vars)).toEqual({
      code: 2,
      stdout: '',
      stderr: "pairguard: unknown option '--format'\n",
    });
    // Topics that do not exist (a mistyped prefix): could not read, exit 3, one line.
    const missing = await run(['audit', '--topic-prefix', 'no-such.'], vars);
    expect(missing.code).toBe(3);
    expect(missing.stdout).toBe('');
    const t = env.config.topics;
    expect(missing.stderr).toContain(
      `pairguard: cannot audit: no topic ${[t.approvals, t.membership, t.messages, t.control].map((x) => `no-such.${x}`).join(', ')}\n`,
    );
  });
});
