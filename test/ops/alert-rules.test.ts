/**
 * The Prometheus alert rules and the stack's Prometheus and Alertmanager configuration, checked
 * by the tools that will load them (promtool, amtool), and the rules' unit tests run.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { debianTool } from '../support/tools.js';
import { exportedMetricNames, metricNames } from '../support/promql.js';

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const rules = (parse(readFileSync('prometheus/rules.yml', 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);

/** GitHub's anchor for a Markdown heading. */
const anchor = (heading: string) => heading.trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-');

/** Runs a tool, returning its output; a failure shows the tool's own output. */
function run(command: string[], args: string[]): string {
  try {
    return execFileSync(command[0]!, [...command.slice(1), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${[...command, ...args].join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
}

describe('alert rules', () => {
  it('cover what on-call must hear about, each with a severity, a summary and a runbook section', () => {
    expect(rules.map((r) => r.alert).sort()).toEqual([
      'PairguardConsumerLagGrowing',
      'PairguardDeadLetters',
      'PairguardDetectionLatencyHigh',
      'PairguardFreezeBudgetExhausted',
      'PairguardFreezeNotEnforced',
      'PairguardKafkaDown',
      'PairguardMonitorDown',
      'PairguardNotReady',
      'PairguardRedisDown',
      'PairguardUnapprovedPairing',
    ]);
    const readme = readFileSync('README.md', 'utf8');
    const anchors = new Set([...readme.matchAll(/^#{2,4} (.+)$/gm)].map((m) => anchor(m[1]!)));
    for (const r of rules) {
      expect(['critical', 'warning'], r.alert).toContain(r.labels?.severity);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
      expect(r.annotations?.description, r.alert).toBeTruthy();
      const [file, section] = (r.annotations?.runbook_url ?? '').split('#');
      expect(file, r.alert).toBe('README.md');
      expect(anchors, `${r.alert}: README.md has no section #${section}`).toContain(section);
      expect(section).toBe(r.alert.toLowerCase());
    }
  });

  it('use only metrics pairguard exports', async () => {
    const exported = await exportedMetricNames();
    for (const r of rules) for (const m of metricNames(r.expr)) expect(exported, `${r.alert} uses ${m}`).toContain(m);
  });

  const promtool = debianTool('promtool', 'prometheus');
  describe.skipIf(promtool.skip)('with promtool', () => {
    it('pass promtool check rules', () => {
      expect(run(promtool.command(), ['check', 'rules', 'prometheus/rules.yml'])).toContain(`SUCCESS: ${rules.length} rules found`);
    });

    it('pass their unit tests (promtool test rules)', () => {
      const out = run(promtool.command(), ['test', 'rules', 'prometheus/rules.test.yml']);
      expect(out).toContain('SUCCESS');
      // Every rule is exercised by at least one test.
      const tests = readFileSync('prometheus/rules.test.yml', 'utf8');
      for (const r of rules) expect(tests, r.alert).toContain(`alertname: ${r.alert}`);
    });

    it("load in the stack's Prometheus configuration", () => {
      expect(run(promtool.command(), ['check', 'config', 'prometheus/prometheus.yml'])).toContain('is valid prometheus config file syntax');
    });
  });

  const amtool = debianTool('amtool', 'prometheus-alertmanager');
  describe.skipIf(amtool.skip)('with amtool', () => {
    it("load in the stack's Alertmanager configuration", () => {
      expect(run(amtool.command(), ['check-config', 'prometheus/alertmanager.yml'])).toContain('SUCCESS');
    });
  });
});
