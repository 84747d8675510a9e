/** The stream layer's events as metrics and log lines (observability/stream-events.ts). */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { AlertRecord } from '../../src/actions/records.js';
import { createLogger } from '../../src/observability/logger.js';
import { Metrics } from '../../src/observability/metrics.js';
import { StreamObserver } from '../../src/observability/stream-events.js';

const T0 = Date.parse('2026-11-21T10:00:00.000Z');
const LIMITS = { freezeBudget: 5, freezeBudgetWindowSeconds: 600, maxClockSkewSeconds: 300 };

function observer() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const metrics = new Metrics({ processMetrics: false, now: () => T0 + 60_000 });
  return { observer: new StreamObserver(metrics, createLogger('debug', sink), LIMITS), metrics, lines };
}

/** A metric's samples as `labels → value` (labels as JSON, in declared order). */
async function samples(metrics: Metrics, name: string): Promise<Record<string, number>> {
  const m = (await metrics.registry.getSingleMetric(name)!.get()) as {
    values: Array<{ labels: Record<string, string>; value: number; metricName?: string }>;
  };
  return Object.fromEntries(m.values.map((v) => [`${v.metricName ?? name}${JSON.stringify(v.labels)}`, v.value]));
}

const flushLogs = () => new Promise((r) => setImmediate(r));

const alert = (chatId: string, occurredAt: string): AlertRecord => ({
  schemaVersion: 1,
  type: 'pairing.unapproved',
  alertId: 'a'.repeat(32),
  chatId,
  pair: ['kid', 'stranger'],
  missing: [{ childId: 'kid', contactId: 'stranger' }],
  affectedChildren: ['kid'],
  trigger: { eventId: 'e1', type: 'member.added', topic: 'kids.membership', partition: 0, offset: 7 },
  occurredAt,
  detectedAt: occurredAt,
  action: 'frozen',
});

describe('StreamObserver', () => {
  it('counts records by topic, type and outcome, and times batches', async () => {
    const { observer: o, metrics } = observer();
    o.emit({ type: 'records.counted', topic: 't', eventType: 'member.added', outcome: 'violation', count: 3 });
    o.emit({ type: 'records.counted', topic: 't', eventType: 'member.added', outcome: 'violation', count: 2 });
    o.emit({ type: 'batch.handled', topic: 't', partition: 0, seconds: 0.25 });
    expect(await samples(metrics, 'pairguard_events_total')).toEqual({
      'pairguard_events_total{"topic":"t","type":"member.added","outcome":"violation"}': 5,
    });
    const batch = await samples(metrics, 'pairguard_batch_processing_seconds');
    expect(batch['pairguard_batch_processing_seconds_sum{"topic":"t"}']).toBe(0.25);
    expect(batch['pairguard_batch_processing_seconds_count{"topic":"t"}']).toBe(1);
  });

  it('counts and logs a dead letter with where it was and why', async () => {
    const { observer: o, metrics, lines } = observer();
    o.emit({ type: 'record.dead-lettered', topic: 't', partition: 2, offset: '41', reason: 'invalid-json' });
    await flushLogs();
    expect(await samples(metrics, 'pairguard_dead_letters_total')).toEqual({
      'pairguard_dead_letters_total{"topic":"t","reason":"invalid-json"}': 1,
    });
    expect(lines).toMatchObject([
      {
        level: 40,
        msg: 'malformed record sent to the dead-letter topic',
        topic: 't',
        partition: 2,
        offset: '41',
        reason: 'invalid-json',
      },
    ]);
  });

  it('counts every skewed clock, and logs one ahead of its record once per record key', async () => {
    const { observer: o, metrics, lines } = observer();
    const skew = (key: string | null, direction: 'future' | 'past', offset: string) =>
      o.emit({
        type: 'clock.skewed',
        topic: 't',
        partition: 0,
        offset,
        key: key === null ? null : Buffer.from(key),
        recordTimestamp: T0,
        direction,
      });
    skew('k1', 'future', '1');
    skew('k1', 'future', '2');
    skew('k2', 'future', '3');
    skew('k3', 'past', '4');
    skew(null, 'future', '5');
    await flushLogs();
    expect(await samples(metrics, 'pairguard_clock_skew_events_total')).toEqual({
      'pairguard_clock_skew_events_total{"topic":"t","direction":"future"}': 4,
      'pairguard_clock_skew_events_total{"topic":"t","direction":"past"}': 1,
    });
    expect(lines.map((l) => l.offset)).toEqual(['1', '3', '5']);
    expect(lines[0]).toMatchObject({
      level: 40,
      msg: "event dated ahead of its record's Kafka timestamp by more than PAIRGUARD_MAX_CLOCK_SKEW: judged as of the record timestamp (logged once per record key)",
      topic: 't',
      partition: 0,
      recordTimestamp: T0,
      maxClockSkewSeconds: 300,
    });
  });

  it('logs an alert with its ids, counting it and its detection latency (on the judge’s clock) unless recovered', async () => {
    const { observer: o, metrics, lines } = observer();
    const record = alert('c1', new Date(T0).toISOString());
    o.emit({ type: 'alert.written', record, recovered: false, writtenAt: T0 + 2_000 });
    o.emit({ type: 'alert.written', record, recovered: true, writtenAt: T0 + 9_000 });
    await flushLogs();
    expect(
      (await samples(metrics, 'pairguard_violations_total'))['pairguard_violations_total{"trigger":"member.added"}'],
    ).toBe(1);
    const latency = await samples(metrics, 'pairguard_detection_latency_seconds');
    expect([
      latency['pairguard_detection_latency_seconds_sum{}'],
      latency['pairguard_detection_latency_seconds_count{}'],
    ]).toEqual([2, 1]);
    expect(lines).toMatchObject([
      {
        level: 30,
        msg: 'unapproved pairing',
        alertId: record.alertId,
        chatId: 'c1',
        pair: ['kid', 'stranger'],
        action: 'frozen',
        recovered: false,
      },
      { msg: 'unapproved pairing', recovered: true },
    ]);
    expect(lines[0]!.trigger).toEqual(record.trigger);
  });

  it('logs a freeze, counting it unless recovered', async () => {
    const { observer: o, metrics, lines } = observer();
    o.emit({ type: 'freeze.written', alertId: 'x', chatId: 'c1', recovered: false });
    o.emit({ type: 'freeze.written', alertId: 'y', chatId: 'c2', recovered: true });
    await flushLogs();
    expect(await samples(metrics, 'pairguard_chat_freezes_total')).toEqual({ 'pairguard_chat_freezes_total{}': 1 });
    expect(lines).toMatchObject([
      { level: 30, msg: 'chat freeze requested', alertId: 'x', chatId: 'c1', recovered: false },
      { level: 30, msg: 'chat freeze requested', alertId: 'y', chatId: 'c2', recovered: true },
    ]);
  });

  it('follows the freeze breaker: withheld freezes open its gauge (an error when it trips), a reset closes it', async () => {
    const { observer: o, metrics, lines } = observer();
    o.emit({ type: 'freezes.withheld', withheld: 1, tripped: true });
    expect((await samples(metrics, 'pairguard_freeze_budget_exhausted'))['pairguard_freeze_budget_exhausted{}']).toBe(
      1,
    );
    o.emit({ type: 'freezes.withheld', withheld: 2, tripped: false });
    o.emit({ type: 'breaker.reset', by: 'oncall', withheld: 3, applied: 2 });
    await flushLogs();
    expect(await samples(metrics, 'pairguard_freezes_withheld_total')).toEqual({
      'pairguard_freezes_withheld_total{}': 3,
    });
    expect((await samples(metrics, 'pairguard_freeze_budget_exhausted'))['pairguard_freeze_budget_exhausted{}']).toBe(
      0,
    );
    expect(lines).toMatchObject([
      {
        level: 50,
        msg: 'freeze breaker tripped: too many chats frozen in its window; alerting without freezing until a person resets it (pairguard breaker reset)',
        withheld: 1,
        budget: 5,
        windowSeconds: 600,
      },
      { level: 40, msg: 'freeze breaker open: alerting without freezing', withheld: 2 },
      { level: 40, msg: 'freeze breaker reset: automatic freezes resume', by: 'oncall', withheld: 3, applied: 2 },
    ]);
  });

  it('counts messages after a freeze, logs unfreezes, and hands handled positions to the lag gauges', async () => {
    const { observer: o, metrics, lines } = observer();
    o.emit({ type: 'message.after-freeze', topic: 't' });
    o.emit({ type: 'chat.unfrozen', chatId: 'c1', by: 'rev' });
    o.emit({ type: 'partition.handled', topic: 't', partition: 1, next: 10n, high: 15n, lastTimestamp: T0 });
    await flushLogs();
    expect(await samples(metrics, 'pairguard_messages_after_freeze_total')).toEqual({
      'pairguard_messages_after_freeze_total{}': 1,
    });
    expect(lines).toMatchObject([{ level: 30, msg: 'chat unfrozen by reviewer', chatId: 'c1', by: 'rev' }]);
    // Waiting since the last record handled, on the metrics' clock (a minute after T0).
    expect(metrics.lag.rows()).toEqual([{ topic: 't', partition: 1, records: 5, seconds: 60 }]);
  });
});
