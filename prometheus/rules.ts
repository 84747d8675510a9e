/**
 * pairguard's alert rules, as code: the one source of prometheus/rules.yml and of the
 * PrometheusRule in deploy/ (prometheus/generate.ts writes both). Each rule has a severity
 * (critical pages: a child may be exposed or the monitor is blind; warning opens a ticket), a
 * summary, a description and a runbook link to its section of README.md ("On call").
 *
 * Every rule selects one deployment (job, and namespace on Kubernetes) and keeps its `namespace`
 * and `job` labels, and `instance` where one process is at fault: prometheus/alertmanager.yml
 * inhibits with `equal: [namespace, job, instance]`, and two deployments sharing a Prometheus
 * must not fold into one alert.
 */
import type { Deployment } from './promql.js';
import { DEFAULT_DEPLOYMENT, by, matchersOf, series } from './promql.js';

/**
 * Where runbook links point: README.md as a browser opens it from the project's repository (a
 * pager, a chat message and Alertmanager's UI cannot open a relative file path).
 */
export const DEFAULT_RUNBOOK_BASE_URL = 'https://github.com/pairguard/pairguard/blob/main/README.md';

export interface RuleOptions {
  /** Which pairguard the rules watch. */
  deployment: Deployment;
  /** Absolute URL of the runbook page; each rule links to `<url>#<alert name in lower case>`. */
  runbookBaseUrl: string;
  /** Grafana's base URL: when set, each alert links to the on-call dashboard showing its deployment and instance. */
  grafanaUrl?: string;
}

export const DEFAULT_RULE_OPTIONS: RuleOptions = {
  deployment: DEFAULT_DEPLOYMENT,
  runbookBaseUrl: DEFAULT_RUNBOOK_BASE_URL,
};

export type Severity = 'critical' | 'warning';

/** One alerting rule as Prometheus loads it. */
export interface AlertRule {
  /** The alert's name, also its README section (lower-cased, the runbook anchor). */
  alert: string;
  /** PromQL; fires for every series it returns. */
  expr: string;
  /** How long `expr` must hold before the alert fires. */
  for?: string;
  /** Alertmanager routes on `severity`. */
  labels: { severity: Severity };
  /** What a page or ticket shows; `runbook_url` is absolute; `dashboard` only with a Grafana URL. */
  annotations: { summary: string; description: string; runbook_url: string; dashboard?: string };
}

export interface RuleGroup {
  /** The group's name, as Prometheus shows it. */
  name: string;
  /** Its rules, evaluated together. */
  rules: AlertRule[];
}

/** A rule before the runbook link is attached. */
type Draft = Omit<AlertRule, 'annotations'> & { summary: string; description: string };

function safetyRules(d: Deployment): Draft[] {
  const m = (metric: string) => series(metric, matchersOf(d));
  return [
    {
      alert: 'PairguardUnapprovedPairing',
      expr: `sum ${by('trigger')} (increase(${m('pairguard_violations_total')}[5m])) > 0`,
      labels: { severity: 'critical' },
      summary: 'Unapproved pairing detected (revealed by {{ $labels.trigger }})',
      description:
        'pairguard found a child in a chat with someone a parent never approved, {{ $value | humanize }} time(s) in the last 5 minutes. The alert records on the alerts topic name the chat and the pair.',
    },
    {
      alert: 'PairguardFreezeNotEnforced',
      expr: `sum ${by()} (increase(${m('pairguard_messages_after_freeze_total')}[5m])) > 0`,
      labels: { severity: 'critical' },
      summary: 'Messages are still sent in chats pairguard froze',
      description:
        '{{ $value | humanize }} message(s) in the last 5 minutes in chats pairguard asked the platform to freeze: the platform is not enforcing freezes, so children stay exposed.',
    },
    {
      // Per instance: a Redis or Kafka outage on that instance inhibits it (alertmanager.yml).
      alert: 'PairguardDetectionLatencyHigh',
      expr: `histogram_quantile(0.99, sum ${by('instance', 'le')} (rate(${m('pairguard_detection_latency_seconds_bucket')}[15m]))) > 2.5`,
      for: '5m',
      labels: { severity: 'warning' },
      summary: 'Detection latency p99 is {{ $value | humanizeDuration }} ({{ $labels.instance }})',
      description:
        'Over the last 15 minutes, 1% of unapproved pairings took longer than 2.5 s from the event to the alert: a stranger had that long to write to a child.',
    },
    {
      alert: 'PairguardFreezeBudgetExhausted',
      expr: `max ${by()} (${m('pairguard_freeze_budget_exhausted')}) == 1 or sum ${by()} (increase(${m('pairguard_freezes_withheld_total')}[5m])) > 0`,
      labels: { severity: 'critical' },
      summary: 'Freeze budget spent: violations are alerted but no longer frozen',
      description:
        'pairguard reached its cap on automatic freezes per window and withheld freezes. Either an unusual wave of real violations or a bug (here or upstream) is making every chat look unapproved.',
    },
  ];
}

function healthRules(d: Deployment): Draft[] {
  const m = (metric: string) => series(metric, matchersOf(d));
  const lagBy = by('instance', 'topic');
  return [
    {
      alert: 'PairguardInputUndecodable',
      // Held at once, or (a consumer whose hold flaps, or restarts) undecodable batches that keep arriving.
      expr: `max ${by('instance', 'consumer')} (${m('pairguard_consumer_held')}) == 1 or sum ${by('instance', 'consumer')} (rate(${m('pairguard_undecodable_batches_total')}[2m])) > 0`,
      for: '2m',
      labels: { severity: 'critical' },
      summary:
        "pairguard's {{ $labels.consumer }} consumer is held at a record batch it cannot decode ({{ $labels.instance }})",
      description:
        'A record batch on an input topic uses a codec pairguard cannot read, or is corrupt. pairguard holds that consumer there rather than skip it, so nothing after it on that partition is judged: violations there go undetected until it is fixed. /readyz names the topic and the reason.',
    },
    {
      alert: 'PairguardConsumerLagGrowing',
      expr: `max ${lagBy} (${m('pairguard_consumer_lag_seconds')}) > 30\nand\nmax ${lagBy} (deriv(${m('pairguard_consumer_lag_seconds')}[5m])) > 0\n`,
      for: '5m',
      labels: { severity: 'warning' },
      summary: 'pairguard is {{ $value | humanizeDuration }} behind on {{ $labels.topic }}, and falling further behind',
      description:
        'The oldest unhandled record on {{ $labels.topic }} has waited over 30 s and the wait keeps growing: violations on that topic are detected that much later.',
    },
    {
      alert: 'PairguardDeadLetters',
      expr: `sum ${by('topic', 'reason')} (increase(${m('pairguard_dead_letters_total')}[10m])) > 0`,
      labels: { severity: 'warning' },
      summary: 'Malformed records on {{ $labels.topic }} ({{ $labels.reason }})',
      description:
        '{{ $value | humanize }} record(s) in the last 10 minutes could not be judged and went to the dead-letter topic. A malformed membership event may hide a violation.',
    },
    {
      alert: 'PairguardRedisDown',
      expr: `${m('pairguard_redis_up')} == 0`,
      for: '1m',
      labels: { severity: 'critical' },
      summary: 'pairguard cannot reach Redis ({{ $labels.instance }})',
      description:
        'Without Redis pairguard cannot judge any event: nothing is detected until it is back (no event is lost; judging resumes from the last committed offset).',
    },
    {
      alert: 'PairguardKafkaDown',
      expr: `${m('pairguard_kafka_up')} == 0`,
      for: '1m',
      labels: { severity: 'critical' },
      summary: 'pairguard cannot reach Kafka ({{ $labels.instance }})',
      description: 'pairguard reads nothing and can write no alert or freeze while Kafka does not answer.',
    },
    {
      alert: 'PairguardMonitorDown',
      expr: `${m('up')} == 0 or absent(${m('up')})`,
      for: '2m',
      labels: { severity: 'critical' },
      summary: 'pairguard is down or not scraped',
      description: `Prometheus cannot scrape any pairguard (job ${d.job}${d.namespace === undefined ? '' : `, namespace ${d.namespace}`}): nobody is checking that children talk only to approved contacts.`,
    },
    {
      alert: 'PairguardNotReady',
      expr: `${m('pairguard_ready')} == 0`,
      for: '10m',
      labels: { severity: 'warning' },
      summary: 'pairguard has not been ready for 10 minutes ({{ $labels.instance }})',
      description:
        '/readyz answers 503: the approval cache is still catching up, or a consumer stopped for good. Its reason is in the /readyz body.',
    },
  ];
}

/**
 * The on-call dashboard (dashboards/oncall.ts, uid pairguard-oncall) on the alert's deployment and,
 * when it has one, its instance: Alertmanager fills in the labels.
 */
function dashboardLink(grafanaUrl: string): string {
  const vars =
    '?var-job={{ $labels.job }}&var-namespace={{ with $labels.namespace }}{{ . }}{{ else }}$__all{{ end }}&var-instance={{ with $labels.instance }}{{ . }}{{ else }}$__all{{ end }}';
  return `${grafanaUrl.replace(/\/+$/, '')}/d/pairguard-oncall/${vars}`;
}

/** The rule groups for one deployment, with absolute runbook links. */
export function alertRules(opts: RuleOptions = DEFAULT_RULE_OPTIONS): RuleGroup[] {
  const finish = ({ summary, description, ...rule }: Draft): AlertRule => ({
    ...rule,
    annotations: {
      summary,
      description,
      runbook_url: `${opts.runbookBaseUrl}#${rule.alert.toLowerCase()}`,
      ...(opts.grafanaUrl === undefined ? {} : { dashboard: dashboardLink(opts.grafanaUrl) }),
    },
  });
  return [
    { name: 'pairguard-safety', rules: safetyRules(opts.deployment).map(finish) },
    { name: 'pairguard-health', rules: healthRules(opts.deployment).map(finish) },
  ];
}
