/**
 * The Prometheus alert rules (generated from prometheus/rules.ts) and the stack's Prometheus
 * configuration, checked by the tool that loads them (promtool), and the rules' unit tests run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { KUBERNETES_DEPLOYMENT, prometheusRuleFile, renderRuleFiles } from '../../prometheus/generate.js';
import type { AlertRule, RuleGroup } from '../../prometheus/rules.js';
import { DEFAULT_RUNBOOK_BASE_URL, alertRules } from '../../prometheus/rules.js';
import { debianTool, runTool } from '../support/tools.js';
import { exportedMetricNames, metricNames } from '../support/promql.js';
import { vectorSelectors } from '../support/promql-selectors.js';

const rules: AlertRule[] = (
  parse(readFileSync('prometheus/rules.yml', 'utf8')) as { groups: RuleGroup[] }
).groups.flatMap((g) => g.rules);

/** GitHub's anchor for a Markdown heading. */
const anchor = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-');

const dir = mkdtempSync(path.join(tmpdir(), 'pairguard-rules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('alert rules', () => {
  it('are committed exactly as prometheus/rules.ts generates them (npm run rules), for Prometheus and as a PrometheusRule', () => {
    for (const [file, text] of renderRuleFiles()) expect(readFileSync(file, 'utf8'), file).toBe(text);
    const resource = parse(readFileSync('deploy/prometheus-rule.yaml', 'utf8')) as {
      kind: string;
      metadata: { namespace: string };
      spec: { groups: RuleGroup[] };
    };
    expect(resource.kind).toBe('PrometheusRule');
    expect(resource.metadata.namespace).toBe(KUBERNETES_DEPLOYMENT.namespace);
    expect(resource.spec.groups.flatMap((g) => g.rules.map((r) => r.alert))).toEqual(rules.map((r) => r.alert));
  });

  it('cover what on-call must hear about, each with a severity, a summary and an absolute runbook link to its README section', () => {
    expect(rules.map((r) => r.alert).sort()).toEqual([
      'PairguardConsumerLagGrowing',
      'PairguardDeadLetters',
      'PairguardDetectionLatencyHigh',
      'PairguardFreezeBudgetExhausted',
      'PairguardFreezeNotEnforced',
      'PairguardInputUndecodable',
      'PairguardKafkaDown',
      'PairguardMonitorDown',
      'PairguardNotReady',
      'PairguardRedisDown',
      'PairguardUnapprovedPairing',
    ]);
    const readme = readFileSync('README.md', 'utf8');
    const anchors = new Set([...readme.matchAll(/^#{2,4} (.+)$/gm)].map((m) => anchor(m[1]!)));
    expect(DEFAULT_RUNBOOK_BASE_URL).toMatch(/^https:\/\/[^#\s]+\/README\.md$/);
    for (const r of rules) {
      expect(['critical', 'warning'], r.alert).toContain(r.labels?.severity);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
      expect(r.annotations?.description, r.alert).toBeTruthy();
      const [base, section] = (r.annotations?.runbook_url ?? '').split('#');
      expect(base, r.alert).toBe(DEFAULT_RUNBOOK_BASE_URL);
      expect(section).toBe(r.alert.toLowerCase());
      expect(anchors, `${r.alert}: README.md has no section #${section}`).toContain(section);
    }
  });

  it('use only metrics pairguard exports, each selecting the deployment by job', async () => {
    const exported = await exportedMetricNames();
    for (const r of rules) {
      for (const m of metricNames(r.expr)) expect(exported, `${r.alert} uses ${m}`).toContain(m);
      const selectors = vectorSelectors(r.expr);
      expect(selectors.length, r.alert).toBeGreaterThan(0);
      for (const s of selectors)
        expect(s.matchers, `${r.alert}: ${s.text}`).toContainEqual({ label: 'job', op: '=', value: 'pairguard' });
    }
  });

  it('take the runbook base URL and the deployment (job, namespace) as options', () => {
    const custom = alertRules({
      deployment: { job: 'pg', namespace: 'prod' },
      runbookBaseUrl: 'https://wiki.example.org/pairguard',
    }).flatMap((g) => g.rules);
    for (const r of custom) {
      expect(r.annotations.runbook_url).toBe(`https://wiki.example.org/pairguard#${r.alert.toLowerCase()}`);
      for (const s of vectorSelectors(r.expr))
        expect(s.matchers, r.alert).toEqual(
          expect.arrayContaining([
            { label: 'job', op: '=', value: 'pg' },
            { label: 'namespace', op: '=', value: 'prod' },
          ]),
        );
    }
  });

  it('refuse a relative runbook URL on the generator command line, in one line', () => {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'prometheus/generate.ts', '--runbook-base-url', 'README.md'],
      { encoding: 'utf8' },
    );
    expect([r.status, r.stdout, r.stderr]).toEqual([
      2,
      '',
      'rules: invalid --runbook-base-url: must be an absolute http(s) URL (got "README.md")\n',
    ]);
  });

  const promtool = debianTool('promtool', 'prometheus');
  describe.skipIf(promtool.skip)('with promtool', () => {
    it('pass promtool check rules, as a rule file and as the PrometheusRule', () => {
      expect(runTool(promtool.command(), ['check', 'rules', 'prometheus/rules.yml'])).toContain(
        `SUCCESS: ${rules.length} rules found`,
      );
      const resource = parse(readFileSync('deploy/prometheus-rule.yaml', 'utf8')) as { spec: unknown };
      writeFileSync(path.join(dir, 'k8s-rules.yml'), stringify(resource.spec));
      expect(runTool(promtool.command(), ['check', 'rules', path.join(dir, 'k8s-rules.yml')])).toContain(
        `SUCCESS: ${rules.length} rules found`,
      );
    });

    it('pass their unit tests (promtool test rules)', () => {
      const out = runTool(promtool.command(), ['test', 'rules', 'prometheus/rules.test.yml']);
      expect(out).toContain('SUCCESS');
      // Every rule is exercised by at least one test.
      const tests = readFileSync('prometheus/rules.test.yml', 'utf8');
      for (const r of rules) expect(tests, r.alert).toContain(`alertname: ${r.alert}`);
    });

    it('generated for a Kubernetes namespace, alert on that namespace only, keep its label, and link to its dashboard', () => {
      const grafanaUrl = 'https://grafana.example.org/';
      writeFileSync(
        path.join(dir, 'prod.yml'),
        prometheusRuleFile({
          deployment: { job: 'pairguard', namespace: 'prod' },
          runbookBaseUrl: DEFAULT_RUNBOOK_BASE_URL,
          grafanaUrl,
        }),
      );
      const annotations = (alert: string) => rules.find((r) => r.alert === alert)!.annotations;
      const test = {
        rule_files: ['prod.yml'],
        evaluation_interval: '1m',
        tests: [
          {
            interval: '1m',
            input_series: [
              {
                series: 'pairguard_redis_up{job="pairguard",namespace="prod",instance="10.0.0.1:9464"}',
                values: '0x5',
              },
              {
                series: 'pairguard_redis_up{job="pairguard",namespace="staging",instance="10.0.0.2:9464"}',
                values: '0x5',
              },
              {
                series:
                  'pairguard_violations_total{job="pairguard",namespace="staging",instance="10.0.0.2:9464",trigger="member.added"}',
                values: '0 1 1 1',
              },
              {
                series:
                  'pairguard_violations_total{job="pairguard",namespace="prod",instance="10.0.0.1:9464",trigger="chat.created"}',
                values: '0 0 1 1',
              },
            ],
            alert_rule_test: [
              {
                eval_time: '2m',
                alertname: 'PairguardRedisDown',
                exp_alerts: [
                  {
                    exp_labels: {
                      severity: 'critical',
                      job: 'pairguard',
                      namespace: 'prod',
                      instance: '10.0.0.1:9464',
                    },
                    exp_annotations: {
                      ...annotations('PairguardRedisDown'),
                      summary: 'pairguard cannot reach Redis (10.0.0.1:9464)',
                      dashboard:
                        'https://grafana.example.org/d/pairguard-oncall/?var-job=pairguard&var-namespace=prod&var-instance=10.0.0.1:9464',
                    },
                  },
                ],
              },
              {
                eval_time: '2m',
                alertname: 'PairguardUnapprovedPairing',
                exp_alerts: [
                  {
                    // Summed over instances: the link shows all of the deployment's.
                    exp_labels: { severity: 'critical', job: 'pairguard', namespace: 'prod', trigger: 'chat.created' },
                    exp_annotations: {
                      ...annotations('PairguardUnapprovedPairing'),
                      summary: 'Unapproved pairing detected (revealed by chat.created)',
                      description: annotations('PairguardUnapprovedPairing').description.replace(
                        '{{ $value | humanize }}',
                        '1',
                      ),
                      dashboard:
                        'https://grafana.example.org/d/pairguard-oncall/?var-job=pairguard&var-namespace=prod&var-instance=$__all',
                    },
                  },
                ],
              },
            ],
          },
        ],
      };
      writeFileSync(path.join(dir, 'prod.test.yml'), stringify(test));
      expect(runTool(promtool.command(), ['test', 'rules', path.join(dir, 'prod.test.yml')])).toContain('SUCCESS');
    });

    it("load in the stack's Prometheus configuration", () => {
      expect(runTool(promtool.command(), ['check', 'config', 'prometheus/prometheus.yml'])).toContain(
        'is valid prometheus config file syntax',
      );
    });
  });
});
