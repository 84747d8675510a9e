/**
 * A real Prometheus (Debian's package) scrapes a running pairguard while fixtures are replayed:
 * every query of the on-call dashboard must return data through Prometheus's HTTP API, every
 * alert rule must evaluate without error, and the unapproved-pairing alert must fire.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { replayFile } from '../../src/cli/replay.js';
import type { TestEnv } from '../support/harness.js';
import { createTestEnv, kafka, waitFor, waitUntilConsumed } from '../support/harness.js';
import { withGrafanaVariables } from '../support/promql.js';
import { debianTool } from '../support/tools.js';

const SENTINEL = 'SENTINEL-TEXT-7f3a';
const prometheusTool = debianTool('prometheus', 'prometheus');

let env: TestEnv | null = null;
let prometheus: ChildProcess | null = null;
let dir: string | null = null;

afterEach(async () => {
  if (prometheus && prometheus.exitCode === null) {
    const exited = new Promise((resolve) => prometheus!.once('exit', resolve));
    prometheus.kill('SIGTERM');
    await exited;
  }
  prometheus = null;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = null;
  await env?.cleanup();
  env = null;
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Every user and chat id in some fixtures. */
function fixtureIds(names: string[]): Set<string> {
  const ids = new Set<string>();
  for (const name of names) {
    for (const line of readFileSync(`test/fixtures/${name}.jsonl`, 'utf8').split('\n').filter(Boolean)) {
      const o = JSON.parse(line) as Record<string, unknown>;
      for (const f of ['userId', 'childId', 'contactId', 'chatId', 'senderId', 'createdBy', '$key'])
        if (typeof o[f] === 'string') ids.add(o[f]);
      if (Array.isArray(o.members)) for (const m of o.members) ids.add(String(m));
    }
  }
  return ids;
}

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

describe.skipIf(prometheusTool.skip)('a real Prometheus scraping pairguard', () => {
  it('returns data for every dashboard query during a fixture replay, evaluates every rule, and fires the pairing alert', async () => {
    env = await createTestEnv();
    const monitor = await env.startMonitor({}, { processMetrics: true, lagIntervalMs: 500 });

    dir = mkdtempSync(path.join(tmpdir(), 'pairguard-prometheus-'));
    const port = await freePort();
    // The stack's configuration, pointed at this monitor and sped up: 1 s scrapes and evaluations.
    writeFileSync(
      path.join(dir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        `rule_files: [${JSON.stringify(path.resolve('prometheus/rules.yml'))}]`,
        'scrape_configs:',
        '  - job_name: pairguard',
        `    static_configs: [{ targets: ["127.0.0.1:${monitor.httpPort}"] }]`,
        '',
      ].join('\n'),
    );
    let promLog = '';
    prometheus = spawn(
      prometheusTool.command()[0]!,
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.stdout!.on('data', (d) => (promLog += d));
    prometheus.stderr!.on('data', (d) => (promLog += d));

    const api = `http://127.0.0.1:${port}/api/v1`;
    const query = async (q: string): Promise<Sample[]> => {
      const res = await fetch(`${api}/query?${new URLSearchParams({ query: q })}`);
      const body = (await res.json()) as { status: string; error?: string; data: { result: Sample[] } };
      if (body.status !== 'success') throw new Error(`${q}: ${body.error}`);
      return body.data.result;
    };
    const fail = (what: string) => (e: Error) => {
      throw new Error(`${e.message} (${what})\nprometheus log:\n${promLog}`);
    };

    // One scrape before any event, so counters are seen going from 0 to their value.
    await waitFor(
      'the first scrape',
      async () => (await query('up{job="pairguard"} == 1').catch(() => [])).length > 0,
      30_000,
    ).catch(fail('scrape'));

    expect(readFileSync('test/fixtures/flaw-2019.jsonl', 'utf8')).toContain(SENTINEL);
    for (const fixture of ['flaw-2019', 'malformed']) {
      await replayFile({
        kafka,
        topics: env.config.topics,
        file: `test/fixtures/${fixture}.jsonl`,
        createPartitions: 0,
        progress: false,
      });
    }
    await waitUntilConsumed(env);

    const dashboard = JSON.parse(readFileSync('dashboards/pairguard-oncall.json', 'utf8')) as {
      panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
    };
    const targets = dashboard.panels.flatMap((p) =>
      (p.targets ?? []).map((t) => ({
        panel: p.title,
        expr: withGrafanaVariables(t.expr, { rateInterval: '15s', range: '5m' }),
      })),
    );
    const empty = new Set(targets.map((t) => `${t.panel}: ${t.expr}`));
    await waitFor(
      'every dashboard query to return data',
      async () => {
        for (const t of targets) if ((await query(t.expr)).length > 0) empty.delete(`${t.panel}: ${t.expr}`);
        return empty.size === 0;
      },
      30_000,
    ).catch(fail(`no data for:\n  ${[...empty].join('\n  ')}`));

    // What was scraped is what happened: three pairings (bob+carol, jo+kim, jo+stranger), each
    // chat frozen, six dead letters (see fixtures.test.ts).
    const value = async (q: string) => Number((await query(q))[0]?.value[1]);
    expect(await value('sum(pairguard_violations_total)')).toBe(3);
    expect(await value('sum(pairguard_chat_freezes_total)')).toBe(3);
    expect(await value('max(pairguard_frozen_chats)')).toBe(3);
    expect(await value('sum(pairguard_dead_letters_total)')).toBe(6);

    const rules = await waitFor('every rule evaluated', async () => {
      const body = (await (await fetch(`${api}/rules`)).json()) as {
        data: { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string; state?: string }> }> };
      };
      const all = body.data.groups.flatMap((g) => g.rules);
      return all.every((r) => r.health !== 'unknown') ? all : null;
    });
    expect(rules.filter((r) => r.health !== 'ok')).toEqual([]);
    const firing = await waitFor('the pairing alert', async () => {
      const body = (await (await fetch(`${api}/alerts`)).json()) as {
        data: { alerts: Array<{ labels: Record<string, string>; state: string }> };
      };
      const names = body.data.alerts.filter((a) => a.state === 'firing').map((a) => a.labels.alertname!);
      return names.includes('PairguardUnapprovedPairing') ? [...new Set(names)].sort() : null;
    });
    expect(firing).toEqual(expect.arrayContaining(['PairguardDeadLetters', 'PairguardUnapprovedPairing']));

    // No label value Prometheus stored holds a user id, a chat id or message text.
    const ids = fixtureIds(['flaw-2019', 'malformed']);
    expect(ids).toContain('carol');
    const labels = ((await (await fetch(`${api}/labels`)).json()) as { data: string[] }).data;
    for (const label of labels) {
      const values = ((await (await fetch(`${api}/label/${label}/values`)).json()) as { data: string[] }).data;
      for (const v of values) {
        expect(ids.has(v), `label ${label}="${v}" is an id from the fixtures`).toBe(false);
        expect(v).not.toContain(SENTINEL);
      }
    }
    expect(env.logs.text).not.toContain(SENTINEL);

    console.log(
      `live scrape: ${targets.length}/${targets.length} dashboard queries returned data from Prometheus; ${rules.length} rules evaluated, all healthy; firing: ${firing.join(', ')}`,
    );
  });
});
