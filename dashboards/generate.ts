/**
 * Writes the dashboards built in code to the JSON files Grafana provisions:
 *   npm run dashboards           regenerate dashboards/*.json
 *   npm run dashboards -- --check exit 1 when a committed file differs from the code
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { oncallDashboard } from './oncall.js';

/** File name (in dashboards/) → the dashboard JSON, exactly as committed. */
export function renderDashboards(): Map<string, string> {
  return new Map([['pairguard-oncall.json', `${JSON.stringify(oncallDashboard(), null, 2)}\n`]]);
}

const isMain = import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [name, json] of renderDashboards()) {
    const file = new URL(name, import.meta.url);
    if (!check) writeFileSync(file, json);
    else if (readFileSync(file, 'utf8') !== json) {
      process.stderr.write(`dashboards/${name} is stale: run npm run dashboards\n`);
      stale++;
    }
  }
  process.exitCode = stale > 0 ? 1 : 0;
}
