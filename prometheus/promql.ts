/**
 * The label selector that picks one pairguard deployment out of a shared Prometheus, for alert
 * rules (fixed values) and dashboards (Grafana variables) alike.
 */

/** One label matcher, e.g. `['job', '=', 'pairguard']`. */
export type Matcher = readonly [label: string, op: '=' | '=~', value: string];

/** Which pairguard a rule file or dashboard watches. */
export interface Deployment {
  /** The Prometheus job that scrapes it (prometheus.yml's job_name; a ServiceMonitor's Service name). */
  job: string;
  /** The Kubernetes namespace it runs in; unset outside Kubernetes, where series have no namespace label. */
  namespace?: string;
}

/** The default deployment: the job prometheus/prometheus.yml scrapes, no namespace. */
export const DEFAULT_DEPLOYMENT: Deployment = { job: 'pairguard' };

/**
 * Labels every alert keeps, so that two deployments' alerts never merge in Alertmanager and its
 * inhibitions (`equal: [namespace, job, instance]`) can match them up.
 */
export const DEPLOYMENT_LABELS = ['namespace', 'job'] as const;

export function matchersOf(d: Deployment): Matcher[] {
  return d.namespace === undefined
    ? [['job', '=', d.job]]
    : [
        ['job', '=', d.job],
        ['namespace', '=', d.namespace],
      ];
}

/** `metric{label="value",…}`. */
export function series(metric: string, matchers: readonly Matcher[]): string {
  return `${metric}{${matchers.map(([l, op, v]) => `${l}${op}${JSON.stringify(v)}`).join(',')}}`;
}

/** `by (namespace, job, …)`: the deployment's labels and then `extra`. */
export function by(...extra: string[]): string {
  return `by (${[...DEPLOYMENT_LABELS, ...extra].join(', ')})`;
}
