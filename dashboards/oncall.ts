/**
 * The on-call dashboard, as code: the top row answers "are children safe right now?", the next
 * "is pairguard itself healthy?", the last "is the process struggling?". Every panel's
 * description says what it means and what to do; README.md "On call" says the same at length.
 *
 * Generated to dashboards/pairguard-oncall.json by `npm run dashboards`; a test fails when the
 * committed JSON differs from what this code builds, or when a query names a metric pairguard
 * does not export.
 */
import {
  DashboardBuilder,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  RowBuilder,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import * as common from '@grafana/grafana-foundation-sdk/common';
import type { Matcher } from '../prometheus/promql.js';
import { DEFAULT_DEPLOYMENT } from '../prometheus/promql.js';
import { DATASOURCE, graph, stat, steps, upDown } from './panels.js';

/** Stable uid: links from alerts and bookmarks survive regeneration. */
export const DASHBOARD_UID = 'pairguard-oncall';

/**
 * Every series a panel reads is of the deployment picked in the variables: one job (staging and
 * production sharing a Prometheus are never added together), its namespaces, its instances.
 */
export const DASHBOARD_MATCHERS: readonly Matcher[] = [
  ['job', '=', '$job'],
  ['namespace', '=~', '$namespace'],
  ['instance', '=~', '$instance'],
];
const on = `{${DASHBOARD_MATCHERS.map(([l, op, v]) => `${l}${op}"${v}"`).join(',')}}`;

/** A variable listing the values of `label` on pairguard's series, narrowed by `within`. */
function labelVariable(label: string, title: string, within: string): QueryVariableBuilder {
  return new QueryVariableBuilder(label)
    .label(title)
    .datasource(DATASOURCE)
    .query(`label_values(pairguard_ready${within}, ${label})`)
    .definition(`label_values(pairguard_ready${within}, ${label})`)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc);
}

export function oncallDashboard(): Dashboard {
  const dashboard = new DashboardBuilder('pairguard — on call')
    .uid(DASHBOARD_UID)
    .description(
      "Is every child talking only to approved contacts, and is the monitor that checks it healthy? Runbook: README.md, section 'On call'.",
    )
    .tags(['pairguard', 'child-safety', 'on-call'])
    .editable()
    .refresh('30s')
    .time({ from: 'now-1h', to: 'now' })
    .timezone('browser')
    .withVariable(new DatasourceVariableBuilder('datasource').label('Prometheus').type('prometheus'))
    .withVariable(
      labelVariable('job', 'Job', '').current({ text: DEFAULT_DEPLOYMENT.job, value: DEFAULT_DEPLOYMENT.job }),
    )
    // Outside Kubernetes series have no namespace: "All" (.*) matches them too.
    .withVariable(
      labelVariable('namespace', 'Namespace', '{job="$job"}')
        .multi(true)
        .includeAll(true)
        .allValue('.*')
        .current({ text: 'All', value: '$__all' }),
    )
    .withVariable(
      labelVariable('instance', 'Instance', '{job="$job",namespace=~"$namespace"}')
        .multi(true)
        .includeAll(true)
        .allValue('.*')
        .current({ text: 'All', value: '$__all' }),
    )

    .withRow(new RowBuilder('Are children safe right now?'))
    .withPanel(
      stat({
        title: 'Unapproved pairings',
        description:
          'Unapproved pairings detected in the selected time range (one per pair per violation episode). Above 0: a child was in a chat with someone a parent never approved. Check the pairguard.alerts topic for the chat and pair; confirm the freeze below took effect (alert PairguardUnapprovedPairing).',
        queries: [{ expr: `round(sum(increase(pairguard_violations_total${on}[$__range])))` }],
        thresholds: steps('green', [1, 'red']),
        decimals: 0,
      }),
    )
    .withPanel(
      stat({
        title: 'Chats frozen now',
        description:
          'Chats pairguard froze that no reviewer has unfrozen yet (chat.unfrozen on the control topic). Each waits for a human review; the ids are in Redis: SMEMBERS <prefix>frozen.',
        queries: [{ expr: `max(pairguard_frozen_chats${on})` }],
        thresholds: steps('green', [1, 'orange']),
        decimals: 0,
      }),
    )
    .withPanel(
      stat({
        title: 'Enforcement gaps',
        description:
          'Messages sent in the selected time range in chats pairguard had frozen: the platform was told to freeze and did not. Above 0 is an incident on the platform side (alert PairguardFreezeNotEnforced).',
        queries: [{ expr: `round(sum(increase(pairguard_messages_after_freeze_total${on}[$__range])))` }],
        thresholds: steps('green', [1, 'red']),
        decimals: 0,
      }),
    )
    .withPanel(
      stat({
        title: 'Detection latency p99 (5m)',
        description:
          "99th percentile, over the last 5 minutes, of the time from the triggering event's occurredAt to its alert being written. Empty when nothing was detected. High: check consumer lag and Redis latency below (alert PairguardDetectionLatencyHigh).",
        queries: [
          { expr: `histogram_quantile(0.99, sum by (le) (rate(pairguard_detection_latency_seconds_bucket${on}[5m])))` },
        ],
        unit: 's',
        thresholds: steps('green', [1, 'orange'], [2.5, 'red']),
        noValue: 'no detections',
      }),
    )
    .withPanel(
      graph({
        title: 'Unapproved pairings by trigger',
        description:
          'Pairings detected per interval, by the event type that revealed them: chat.created or member.added (a platform flaw), contact.revoked or user.registered (a parent changed their mind), message.sent (a sender who was not a member).',
        queries: [
          {
            expr: `sum by (trigger) (increase(pairguard_violations_total${on}[$__rate_interval]))`,
            legend: '{{trigger}}',
          },
        ],
        bars: true,
      }),
    )
    .withPanel(
      graph({
        title: 'Freezes and enforcement gaps',
        description:
          'Freeze commands written per interval, and messages that still got through in frozen chats. Gaps above 0 mean the platform ignores freezes.',
        queries: [
          { expr: `sum(increase(pairguard_chat_freezes_total${on}[$__rate_interval]))`, legend: 'freezes requested' },
          {
            expr: `sum(increase(pairguard_messages_after_freeze_total${on}[$__rate_interval]))`,
            legend: 'messages after freeze',
          },
        ],
        bars: true,
      }),
    )
    .withPanel(
      graph({
        title: 'Detection latency',
        description:
          "Time from the triggering event's occurredAt to its alert being written, p50/p95/p99. Includes the time the event spent in Kafka before pairguard read it, so consumer lag shows up here.",
        queries: [0.5, 0.95, 0.99].map((q) => ({
          expr: `histogram_quantile(${q}, sum by (le) (rate(pairguard_detection_latency_seconds_bucket${on}[$__rate_interval])))`,
          legend: `p${q * 100}`,
        })),
        unit: 's',
      }),
    )

    .withRow(new RowBuilder('Is pairguard healthy?'))
    .withPanel(
      upDown({
        title: 'Monitor and dependencies',
        description: `monitor: Prometheus can scrape pairguard (the job picked above). ready: the approval cache has caught up and Kafka and Redis answer (/readyz). redis, kafka: pairguard's own health checks. Any DOWN means violations may go undetected: see the matching alert in the runbook.`,
        queries: [
          { expr: `min(up${on})`, legend: 'monitor' },
          { expr: `min(pairguard_ready${on})`, legend: 'ready' },
          { expr: `min(pairguard_redis_up${on})`, legend: 'redis' },
          { expr: `min(pairguard_kafka_up${on})`, legend: 'kafka' },
        ],
      }).span(12),
    )
    .withPanel(
      stat({
        title: 'Worst consumer lag',
        description:
          'How long the oldest record pairguard has not handled yet has waited, on the worst partition. Detection is at least this late. Growing: see PairguardConsumerLagGrowing.',
        queries: [{ expr: `max(pairguard_consumer_lag_seconds${on})` }],
        unit: 's',
        thresholds: steps('green', [10, 'orange'], [60, 'red']),
      }),
    )
    .withPanel(
      stat({
        title: 'Dead letters',
        description:
          'Malformed input records in the selected time range. They were not judged: a dead-lettered membership event may hide a violation. See PairguardDeadLetters.',
        queries: [{ expr: `round(sum(increase(pairguard_dead_letters_total${on}[$__range])))` }],
        thresholds: steps('green', [1, 'orange']),
        decimals: 0,
      }),
    )
    .withPanel(
      stat({
        title: 'Consumers held',
        description:
          'Consumers holding at a record batch no codec can decode (unknown codec or corrupt batch): nothing after it on that partition is judged. Above 0: /readyz names the topic and the reason; see PairguardInputUndecodable.',
        queries: [{ expr: `sum(pairguard_consumer_held${on})` }],
        thresholds: steps('green', [1, 'red']),
        decimals: 0,
      }),
    )
    .withPanel(
      stat({
        title: 'Versions running',
        description:
          'Instances per pairguard version and git revision (pairguard_build_info). Two at once: a deploy is rolling out, or stuck half-way. A change in the graphs that lines up with a new version points at the deploy.',
        queries: [
          { expr: `count by (version, revision) (pairguard_build_info${on})`, legend: '{{version}} {{revision}}' },
        ],
        thresholds: steps('blue'),
        decimals: 0,
      }).textMode(common.BigValueTextMode.ValueAndName),
    )
    .withPanel(
      graph({
        title: 'Events per second by topic',
        description:
          'Input records handled per second, by topic. A drop to zero while the platform is busy means pairguard stopped reading (or the platform stopped writing).',
        queries: [
          { expr: `sum by (topic) (rate(pairguard_events_total${on}[$__rate_interval]))`, legend: '{{topic}}' },
        ],
        unit: 'ops',
      }),
    )
    .withPanel(
      graph({
        title: 'Errors by topic',
        description:
          'Failed batches (a Redis or Kafka error; kafkajs fetches the batch again) and dead-lettered records, per second, by topic.',
        queries: [
          {
            expr: `sum by (topic) (rate(pairguard_batch_failures_total${on}[$__rate_interval]))`,
            legend: '{{topic}} failed batches',
          },
          {
            expr: `sum by (topic) (rate(pairguard_dead_letters_total${on}[$__rate_interval]))`,
            legend: '{{topic}} dead letters',
          },
        ],
        unit: 'ops',
      }),
    )
    .withPanel(
      graph({
        title: 'Consumer lag (seconds)',
        description:
          'How long the oldest unhandled record has waited, worst partition per topic (from record timestamps; 0 when caught up).',
        queries: [{ expr: `max by (topic) (pairguard_consumer_lag_seconds${on})`, legend: '{{topic}}' }],
        unit: 's',
      }),
    )
    .withPanel(
      graph({
        title: 'Consumer lag (records)',
        description: 'Records between the next one to handle and the high watermark, summed per topic.',
        queries: [{ expr: `sum by (topic) (pairguard_consumer_lag${on})`, legend: '{{topic}}' }],
      }),
    )
    .withPanel(
      graph({
        title: 'Dead letters by reason',
        description:
          'Malformed records per interval, by reason (invalid-json, invalid-fields, wrong-topic…). The dead-letter topic holds each one with its source topic, partition and offset.',
        queries: [
          {
            expr: `sum by (reason) (increase(pairguard_dead_letters_total${on}[$__rate_interval]))`,
            legend: '{{reason}}',
          },
        ],
        bars: true,
      }),
    )
    .withPanel(
      graph({
        title: 'Rebalances and consumer crashes',
        description:
          'Consumer group rebalances and consumer crashes per interval, by consumer. A few during a deploy are normal; a steady stream means instances keep joining and leaving (check pod restarts, session timeouts).',
        queries: [
          {
            expr: `sum by (consumer) (increase(pairguard_consumer_rebalances_total${on}[$__rate_interval]))`,
            legend: '{{consumer}} rebalances',
          },
          {
            expr: `sum by (consumer) (increase(pairguard_consumer_crashes_total${on}[$__rate_interval]))`,
            legend: '{{consumer}} crashes',
          },
        ],
        bars: true,
      }),
    )
    .withPanel(
      graph({
        title: 'Batch processing time p99',
        description:
          'Time to handle one fetched batch, by topic, waits for the approval cache included. Slow membership or messages batches with fast approvals ones mean the approvals consumer is behind.',
        queries: [
          {
            expr: `histogram_quantile(0.99, sum by (le, topic) (rate(pairguard_batch_processing_seconds_bucket${on}[$__rate_interval])))`,
            legend: '{{topic}}',
          },
        ],
        unit: 's',
      }),
    )
    .withPanel(
      graph({
        title: 'Ordering wait p99',
        description:
          'Time a batch waited before judging for the records it depends on to be applied (contract §1): membership waits for approvals, messages for approvals and membership. Usually the largest part of detection latency; a wait growing to seconds means the consumer it waits for is behind or its partitions are unowned.',
        queries: [
          {
            expr: `histogram_quantile(0.99, sum by (le, stream) (rate(pairguard_ordering_wait_seconds_bucket${on}[$__rate_interval])))`,
            legend: '{{stream}}',
          },
        ],
        unit: 's',
      }),
    )
    .withPanel(
      graph({
        title: 'Redis latency p99',
        description:
          'Round trip of each state-store operation to Redis, p99. Every event costs a few of these; above ~10 ms they dominate detection latency.',
        queries: [
          {
            expr: `histogram_quantile(0.99, sum by (le, operation) (rate(pairguard_redis_command_duration_seconds_bucket${on}[$__rate_interval])))`,
            legend: '{{operation}}',
          },
        ],
        unit: 's',
      }),
    )
    .withPanel(
      graph({
        title: 'Partitions owned',
        description: 'Partitions assigned to each consumer, summed over instances. A consumer at 0 reads nothing.',
        queries: [{ expr: `sum by (consumer) (pairguard_consumer_assigned_partitions${on})`, legend: '{{consumer}}' }],
      }),
    )

    .withRow(new RowBuilder('Is the process struggling?'))
    .withPanel(
      graph({
        title: 'Event loop lag p99',
        description: 'Node.js event loop delay: above ~100 ms the process is CPU-bound and every detection waits.',
        queries: [{ expr: `max by (instance) (nodejs_eventloop_lag_p99_seconds${on})`, legend: '{{instance}}' }],
        unit: 's',
        span: 12,
      }),
    )
    .withPanel(
      graph({
        title: 'Resident memory',
        description: 'Resident memory of each pairguard process.',
        queries: [{ expr: `max by (instance) (process_resident_memory_bytes${on})`, legend: '{{instance}}' }],
        unit: 'bytes',
        span: 12,
      }),
    )
    .build();
  // The builder leaves panel ids unset (rows get 0); Grafana wants them unique and stable.
  dashboard.panels?.forEach((panel, i) => {
    panel.id = i + 1;
  });
  return dashboard;
}
