/**
 * The few panel shapes the on-call dashboard uses, on Grafana's foundation SDK, so that
 * oncall.ts reads as a list of questions and the queries that answer them.
 */
import * as common from '@grafana/grafana-foundation-sdk/common';
import { MappingType, ThresholdsConfigBuilder, ThresholdsMode } from '@grafana/grafana-foundation-sdk/dashboard';
import type { Threshold } from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesBuilder } from '@grafana/grafana-foundation-sdk/timeseries';

/** Every panel queries the Prometheus picked in the dashboard's `datasource` variable. */
export const DATASOURCE: common.DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

/** One PromQL query and how its series are named in the legend. */
export interface Query {
  /** PromQL; may use Grafana's `$__rate_interval` and `$__range`. */
  expr: string;
  /** Legend template, e.g. `{{topic}}`. */
  legend?: string;
}

/** Colour steps: the base colour, then each [value, colour] at which it changes. */
export function steps(base: string, ...above: Array<[number, string]>): ThresholdsConfigBuilder {
  const list: Threshold[] = [{ value: null, color: base }, ...above.map(([value, color]) => ({ value, color }))];
  return new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(list);
}

function targets(queries: readonly Query[]): DataqueryBuilder[] {
  return queries.map((q, i) => {
    const t = new DataqueryBuilder()
      .expr(q.expr)
      .refId(String.fromCharCode(65 + i))
      .range();
    return q.legend ? t.legendFormat(q.legend) : t;
  });
}

/** A single number that answers a yes/no question at a glance. */
export function stat(opts: {
  title: string;
  description: string;
  queries: Query[];
  unit?: string;
  thresholds: ThresholdsConfigBuilder;
  noValue?: string;
  decimals?: number;
}): StatBuilder {
  const p = new StatBuilder()
    .title(opts.title)
    .description(opts.description)
    .datasource(DATASOURCE)
    .unit(opts.unit ?? 'none')
    .thresholds(opts.thresholds)
    .colorMode(common.BigValueColorMode.Background)
    .graphMode(common.BigValueGraphMode.None)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .span(6)
    .height(5);
  for (const t of targets(opts.queries)) p.withTarget(t);
  if (opts.noValue) p.noValue(opts.noValue);
  if (opts.decimals !== undefined) p.decimals(opts.decimals);
  return p;
}

/** UP/DOWN tiles, one per query, for 0/1 gauges. */
export function upDown(opts: { title: string; description: string; queries: Query[] }): StatBuilder {
  return stat({ ...opts, thresholds: steps('red', [1, 'green']), noValue: 'DOWN (no data)' })
    .textMode(common.BigValueTextMode.ValueAndName)
    .mappings([
      {
        type: MappingType.ValueToText,
        options: { '0': { text: 'DOWN', color: 'red', index: 0 }, '1': { text: 'UP', color: 'green', index: 1 } },
      },
    ]);
}

/** Series over time. */
export function graph(opts: {
  title: string;
  description: string;
  queries: Query[];
  unit?: string;
  bars?: boolean;
  span?: number;
}): TimeseriesBuilder {
  const p = new TimeseriesBuilder()
    .title(opts.title)
    .description(opts.description)
    .datasource(DATASOURCE)
    .unit(opts.unit ?? 'short')
    .min(0)
    .fillOpacity(opts.bars ? 80 : 10)
    .drawStyle(opts.bars ? common.GraphDrawStyle.Bars : common.GraphDrawStyle.Line)
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.List)
        .placement(common.LegendPlacement.Bottom),
    )
    .tooltip(
      new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending),
    )
    .span(opts.span ?? 8)
    .height(8);
  for (const t of targets(opts.queries)) p.withTarget(t);
  return p;
}
