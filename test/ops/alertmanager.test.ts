/**
 * prometheus/alertmanager.yml, loaded by the real tools: amtool checks it and walks its routing
 * tree for every rule, and a real Alertmanager, sent the alerts promtool shows the rules raising
 * (their labels are taken from prometheus/rules.test.yml), must route them by severity and let a
 * Redis outage silence the latency alert of the same instance only.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertRules } from '../../prometheus/rules.js';
import { freePort } from '../support/process.js';
import { debianTool, runTool, which } from '../support/tools.js';

const CONFIG = 'prometheus/alertmanager.yml';
const rules = alertRules().flatMap((g) => g.rules);

interface RulesTest {
  tests: Array<{
    alert_rule_test?: Array<{ alertname: string; exp_alerts: Array<{ exp_labels: Record<string, string> }> }>;
  }>;
}

/** The labels promtool's tests show `alertname` firing with (the first test that has them). */
function firedLabels(
  alertname: string,
  where: (labels: Record<string, string>) => boolean = () => true,
): Record<string, string> {
  const t = parse(readFileSync('prometheus/rules.test.yml', 'utf8')) as RulesTest;
  for (const test of t.tests) {
    for (const a of test.alert_rule_test ?? []) {
      if (a.alertname !== alertname) continue;
      const labels = a.exp_alerts.map((e) => e.exp_labels).find(where);
      if (labels) return { alertname, ...labels };
    }
  }
  throw new Error(`prometheus/rules.test.yml never shows ${alertname} firing`);
}

const amtool = debianTool('amtool', 'prometheus-alertmanager');
describe.skipIf(amtool.skip)('the Alertmanager configuration, with amtool', () => {
  it('passes amtool check-config', () => {
    expect(runTool(amtool.command(), ['check-config', CONFIG])).toContain('SUCCESS');
  });

  it('pages for every critical rule and opens a ticket for every warning (amtool config routes test)', () => {
    for (const r of rules) {
      const receiver = runTool(amtool.command(), [
        'config',
        'routes',
        'test',
        `--config.file=${CONFIG}`,
        `alertname=${r.alert}`,
        `severity=${r.labels.severity}`,
        'job=pairguard',
      ]).trim();
      expect(receiver, r.alert).toBe(r.labels.severity === 'critical' ? 'page' : 'ticket');
    }
  });

  it('names only alerts the rules define in its inhibitions', () => {
    const config = parse(readFileSync(CONFIG, 'utf8')) as {
      inhibit_rules: Array<{ source_matchers: string[]; target_matchers: string[] }>;
    };
    const names = new Set(rules.map((r) => r.alert));
    for (const rule of config.inhibit_rules) {
      for (const m of [...rule.source_matchers, ...rule.target_matchers]) {
        const listed = /^alertname=~?"(.+)"$/.exec(m)![1]!.split('|');
        for (const n of listed) expect(names, m).toContain(n);
      }
    }
  });
});

// Debian names the binary prometheus-alertmanager; upstream's tarball names it alertmanager.
const alertmanager = which('alertmanager')
  ? debianTool('alertmanager', 'prometheus-alertmanager')
  : debianTool('prometheus-alertmanager', 'prometheus-alertmanager');

describe.skipIf(alertmanager.skip)('a running Alertmanager with this configuration', () => {
  let dir = '';
  let am: ChildProcess | null = null;
  let hook: Server | null = null;
  let api = '';
  let logs = '';
  /** Alert names each receiver was notified of. */
  const delivered = new Map<string, Set<string>>();

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'pairguard-am-'));
    const hookPort = await freePort();
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const n = JSON.parse(body) as { receiver: string; alerts: Array<{ labels: Record<string, string> }> };
        const set = delivered.get(n.receiver) ?? new Set();
        for (const a of n.alerts)
          set.add(`${a.labels.alertname}@${a.labels.namespace ?? ''}/${a.labels.instance ?? ''}`);
        delivered.set(n.receiver, set);
        res.end();
      });
    }).listen(hookPort, '127.0.0.1');
    // The committed routes and inhibitions; only the receivers get a webhook (they are empty in the
    // repository) and groups are sent after 1 s instead of 30 s, so the test can watch deliveries.
    const config = parse(readFileSync(CONFIG, 'utf8')) as {
      route: { group_wait: string; routes: Array<{ group_wait: string }> };
      receivers: Array<Record<string, unknown>>;
    };
    config.route.group_wait = '1s';
    for (const r of config.route.routes) r.group_wait = '1s';
    for (const r of config.receivers)
      r.webhook_configs = [{ url: `http://127.0.0.1:${hookPort}/${String(r.name)}`, send_resolved: false }];
    writeFileSync(path.join(dir, 'alertmanager.yml'), stringify(config));
    const port = await freePort();
    api = `http://127.0.0.1:${port}/api/v2`;
    am = spawn(
      alertmanager.command()[0]!,
      [
        `--config.file=${path.join(dir, 'alertmanager.yml')}`,
        `--storage.path=${dir}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    am.stdout!.on('data', (d) => (logs += d));
    am.stderr!.on('data', (d) => (logs += d));
    const deadline = Date.now() + 15_000;
    while ((await fetch(`http://127.0.0.1:${port}/-/ready`).catch(() => null))?.status !== 200) {
      if (Date.now() > deadline || am.exitCode !== null) throw new Error(`Alertmanager did not start:\n${logs}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  afterAll(async () => {
    if (am && am.exitCode === null) {
      const exited = new Promise((r) => am!.once('exit', r));
      am.kill('SIGTERM');
      await exited;
    }
    hook?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lets a Redis outage inhibit the latency alert of the same instance, and routes the rest by severity', async () => {
    const redisDown = firedLabels('PairguardRedisDown');
    const latencySame = firedLabels('PairguardDetectionLatencyHigh', (l) => l.instance === redisDown.instance);
    const latencyOther = firedLabels('PairguardDetectionLatencyHigh', (l) => l.instance !== redisDown.instance);
    // The same job and instance name in another Kubernetes namespace is another deployment.
    const latencyStaging: Record<string, string> = { ...latencySame, namespace: 'staging' };
    const pairing = firedLabels('PairguardUnapprovedPairing');
    const undecodable = firedLabels('PairguardInputUndecodable');
    const notReady: Record<string, string> = { ...firedLabels('PairguardNotReady'), instance: undecodable.instance! };
    expect(latencySame).toMatchObject({ job: redisDown.job, instance: redisDown.instance });

    const sent = [redisDown, latencySame, latencyOther, latencyStaging, pairing, undecodable, notReady];
    const posted = await fetch(`${api}/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(sent.map((labels) => ({ labels, annotations: { summary: 'test' } }))),
    });
    expect(posted.status).toBe(200);

    type Status = {
      labels: Record<string, string>;
      status: { state: string; inhibitedBy: string[] };
      receivers: Array<{ name: string }>;
      fingerprint: string;
    };
    const alerts = (await (await fetch(`${api}/alerts`)).json()) as Status[];
    const of = (labels: Record<string, string>) =>
      alerts.find(
        (a) => JSON.stringify(Object.entries(a.labels).sort()) === JSON.stringify(Object.entries(labels).sort()),
      )!;
    const state = (labels: Record<string, string>) => of(labels).status.state;
    expect(alerts).toHaveLength(sent.length);
    expect(state(latencySame)).toBe('suppressed');
    expect(of(latencySame).status.inhibitedBy).toEqual([of(redisDown).fingerprint]);
    expect(state(notReady)).toBe('suppressed');
    expect(of(notReady).status.inhibitedBy).toEqual([of(undecodable).fingerprint]);
    for (const a of [latencyOther, latencyStaging, redisDown, pairing, undecodable])
      expect(state(a), a.alertname).toBe('active');
    for (const a of [redisDown, pairing, undecodable]) expect(of(a).receivers.map((r) => r.name)).toEqual(['page']);
    for (const a of [latencySame, latencyOther, notReady])
      expect(of(a).receivers.map((r) => r.name)).toEqual(['ticket']);

    // What the receivers are actually sent: pages for the critical alerts, tickets for the
    // latency alerts nothing silences, never the inhibited ones.
    const key = (l: Record<string, string>) => `${l.alertname}@${l.namespace ?? ''}/${l.instance ?? ''}`;
    const want = {
      page: [redisDown, pairing, undecodable].map(key).sort(),
      ticket: [latencyOther, latencyStaging].map(key).sort(),
    };
    const deadline = Date.now() + 15_000;
    const got = () => ({
      page: [...(delivered.get('page') ?? [])].sort(),
      ticket: [...(delivered.get('ticket') ?? [])].sort(),
    });
    while (JSON.stringify(got()) !== JSON.stringify(want) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    expect(got()).toEqual(want);
  });
});
