/** PromQL as dashboards and alert rules write it, read with Prometheus's own grammar. */
import { parser } from '@prometheus-io/lezer-promql';
import { Metrics } from '../../src/observability/metrics.js';

/** Grafana's interval variables, and the on-call dashboard's job, namespace and instance at their defaults (pairguard, All, All), with the values a query gets when Grafana runs it. */
export function withGrafanaVariables(
  expr: string,
  values: { rateInterval: string; range: string } = { rateInterval: '1m', range: '1h' },
): string {
  return expr
    .replaceAll('$__rate_interval', values.rateInterval)
    .replaceAll('$__range', values.range)
    .replaceAll('$__interval', values.rateInterval)
    .replaceAll('$job', 'pairguard')
    .replaceAll('$namespace', '.*')
    .replaceAll('$instance', '.*');
}

/** Metric names an expression selects; throws on a syntax error. */
export function metricNames(expr: string): string[] {
  const tree = parser.parse(expr);
  const names: string[] = [];
  let error: number | null = null;
  tree.iterate({
    enter(node) {
      if (node.type.isError) error ??= node.from;
      if (node.name === 'VectorSelector') {
        const id = node.node.getChild('Identifier');
        if (id) names.push(expr.slice(id.from, id.to));
      }
    },
  });
  if (error !== null) throw new Error(`PromQL syntax error at ${error}: ${expr}`);
  return names;
}

/** Series Prometheus makes itself for every scrape target. */
const PROMETHEUS_SERIES = ['up', 'scrape_duration_seconds', 'scrape_samples_scraped'];

/** Every metric name a pairguard /metrics page can hold (histograms with their series suffixes), plus Prometheus's own. */
export async function exportedMetricNames(): Promise<Set<string>> {
  const metrics = new Metrics({ processMetrics: true });
  const names = new Set(PROMETHEUS_SERIES);
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    if (String(m.type) === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${m.name}${suffix}`);
    else names.add(m.name);
  }
  return names;
}
