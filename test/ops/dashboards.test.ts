/** The on-call dashboard: generated from code, and querying only metrics pairguard exports. */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { renderDashboards } from '../../dashboards/generate.js';
import { exportedMetricNames, metricNames, withGrafanaVariables } from '../support/promql.js';
import { vectorSelectors } from '../support/promql-selectors.js';

interface Panel {
  id: number;
  type: string;
  title: string;
  description?: string;
  datasource?: { uid?: string };
  targets?: Array<{ expr: string; refId: string }>;
}

interface Variable {
  name: string;
  type: string;
  query?: string;
  includeAll?: boolean;
  allValue?: string;
  current?: { value: string };
}

const committed = (name: string) =>
  JSON.parse(readFileSync(`dashboards/${name}`, 'utf8')) as {
    uid: string;
    panels: Panel[];
    templating: { list: Variable[] };
  };

describe('dashboards', () => {
  it('are committed exactly as the code in dashboards/*.ts generates them (npm run dashboards)', () => {
    for (const [name, json] of renderDashboards()) expect(readFileSync(`dashboards/${name}`, 'utf8'), name).toBe(json);
  });

  it('query only metrics pairguard exports, in valid PromQL', async () => {
    const exported = await exportedMetricNames();
    let queries = 0;
    for (const name of renderDashboards().keys()) {
      for (const panel of committed(name).panels) {
        for (const t of panel.targets ?? []) {
          const names = metricNames(withGrafanaVariables(t.expr));
          expect(names.length, `${panel.title}: ${t.expr}`).toBeGreaterThan(0);
          for (const metric of names)
            expect(exported, `panel "${panel.title}" queries ${metric}, which pairguard does not export`).toContain(
              metric,
            );
          queries++;
        }
      }
    }
    expect(queries).toBeGreaterThan(20);
  });

  it('pick one deployment (job, namespace, instance variables), and every query selects only its series', () => {
    for (const name of renderDashboards().keys()) {
      const d = committed(name);
      const vars = new Map(d.templating.list.map((v) => [v.name, v]));
      expect([...vars.keys()]).toEqual(['datasource', 'job', 'namespace', 'instance']);
      expect(vars.get('job')).toMatchObject({
        type: 'query',
        query: 'label_values(pairguard_ready, job)',
        current: { value: 'pairguard' },
      });
      // Series outside Kubernetes have no namespace label: "All" must match an empty one.
      for (const v of ['namespace', 'instance'])
        expect(vars.get(v), v).toMatchObject({ type: 'query', includeAll: true, allValue: '.*' });
      for (const panel of d.panels) {
        for (const t of panel.targets ?? []) {
          // Grafana's durations filled in, the deployment variables left as written.
          const expr = t.expr.replaceAll('$__rate_interval', '1m').replaceAll('$__range', '1h');
          for (const s of vectorSelectors(expr)) {
            expect(s.matchers, `${panel.title}: ${s.text}`).toEqual([
              { label: 'job', op: '=', value: '$job' },
              { label: 'namespace', op: '=~', value: '$namespace' },
              { label: 'instance', op: '=~', value: '$instance' },
            ]);
          }
        }
      }
    }
  });

  it('explain every panel to on-call, with unique ids and the datasource variable', () => {
    for (const name of renderDashboards().keys()) {
      const panels = committed(name).panels;
      expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
      for (const p of panels.filter((x) => x.type !== 'row')) {
        expect(p.description, p.title).toMatch(/\w{3,}.*\w{3,}/);
        expect(p.datasource?.uid, p.title).toBe('${datasource}');
        expect(new Set(p.targets!.map((t) => t.refId)).size, p.title).toBe(p.targets!.length);
      }
    }
  });

  it('are provisioned into Grafana from the folder docker-compose.yml mounts', () => {
    const provider = parse(readFileSync('dashboards/provisioning/dashboards/pairguard.yml', 'utf8')) as {
      providers: Array<{ options: { path: string } }>;
    };
    const datasource = parse(readFileSync('dashboards/provisioning/datasources/prometheus.yml', 'utf8')) as {
      datasources: Array<{ type: string; url: string }>;
    };
    const compose = parse(readFileSync('docker-compose.yml', 'utf8')) as {
      services: Record<string, { volumes?: string[] }>;
    };
    const mounts = compose.services.grafana!.volumes!;
    expect(mounts).toContain(`./dashboards:${provider.providers[0]!.options.path}:ro`);
    expect(mounts).toContain('./dashboards/provisioning/dashboards:/etc/grafana/provisioning/dashboards:ro');
    expect(mounts).toContain('./dashboards/provisioning/datasources:/etc/grafana/provisioning/datasources:ro');
    expect(datasource.datasources[0]).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090' });
  });
});
