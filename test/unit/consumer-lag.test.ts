/** Lag in records and seconds, as the batch handler and the periodic look report it. */
import { describe, expect, it } from 'vitest';
import { ConsumerLag } from '../../src/observability/consumer-lag.js';
import { Metrics } from '../../src/observability/metrics.js';

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('consumer lag', () => {
  it('is how long the record after the last handled one has waited, and 0 once caught up', () => {
    const c = clock();
    const lag = new ConsumerLag(c.now);
    lag.handled('t', 0, 10n, 15n, c.now() - 4_000);
    expect(lag.rows()).toEqual([{ topic: 't', partition: 0, records: 5, seconds: 4 }]);
    // A stalled consumer: no batch, the wait keeps growing.
    c.advance(6_000);
    expect(lag.rows()[0]!.seconds).toBe(10);
    lag.handled('t', 0, 15n, 15n, c.now() - 1_000);
    expect(lag.rows()).toEqual([{ topic: 't', partition: 0, records: 0, seconds: 0 }]);
  });

  it('notices records arriving on a partition that gets no batch, from the moment it looks', () => {
    const c = clock();
    const lag = new ConsumerLag(c.now);
    lag.handled('t', 1, 7n, 7n, c.now());
    c.advance(60_000);
    lag.observed('t', 1, 9n, null);
    expect(lag.rows()).toEqual([{ topic: 't', partition: 1, records: 2, seconds: 0 }]);
    c.advance(3_000);
    lag.observed('t', 1, 12n, null);
    expect(lag.rows()).toEqual([{ topic: 't', partition: 1, records: 5, seconds: 3 }]);
  });

  it('keeps a newer high watermark seen by the periodic look over an older one in a batch', () => {
    const c = clock();
    const lag = new ConsumerLag(c.now);
    lag.observed('t', 0, 20n, 0n);
    lag.handled('t', 0, 10n, 10n, c.now() - 2_000);
    expect(lag.rows()).toEqual([{ topic: 't', partition: 0, records: 10, seconds: 2 }]);
  });

  it('starts a partition no batch reported from the committed offset, and forgets partitions moved away', () => {
    const c = clock();
    const lag = new ConsumerLag(c.now);
    lag.observed('t', 0, 5n, null);
    expect(lag.rows()).toEqual([]);
    expect(lag.knows('t', 0)).toBe(false);
    lag.observed('t', 0, 5n, 5n);
    lag.observed('t', 1, 5n, 3n);
    expect(lag.rows().map((r) => [r.partition, r.records])).toEqual([
      [0, 0],
      [1, 2],
    ]);
    lag.assigned(['t'], { t: [1] });
    expect(lag.rows().map((r) => r.partition)).toEqual([1]);
  });

  it('is exported per topic and partition, and a partition moved away leaves no stale series', async () => {
    const c = clock();
    const metrics = new Metrics({ processMetrics: false, now: c.now });
    metrics.lag.handled('kids.membership', 2, 100n, 130n, c.now() - 1_500);
    let text = await metrics.registry.metrics();
    expect(text).toContain('pairguard_consumer_lag{topic="kids.membership",partition="2"} 30');
    expect(text).toContain('pairguard_consumer_lag_seconds{topic="kids.membership",partition="2"} 1.5');
    metrics.lag.assigned(['kids.membership'], { 'kids.membership': [0] });
    text = await metrics.registry.metrics();
    expect(text).not.toContain('partition="2"');
  });
});

describe('metric series', () => {
  it('exist at zero before the first event, with topic, reason, trigger, consumer and direction labels only', async () => {
    const metrics = new Metrics({ processMetrics: false });
    metrics.initialise({
      consumers: [
        ['approvals', ['kids.approvals']],
        ['membership', ['kids.membership', 'kids.chat-control']],
      ],
    });
    const text = await metrics.registry.metrics();
    expect(text).toContain('pairguard_violations_total{trigger="member.added"} 0');
    expect(text).toContain('pairguard_dead_letters_total{topic="kids.chat-control",reason="invalid-json"} 0');
    expect(text).toContain('pairguard_batch_failures_total{topic="kids.approvals"} 0');
    expect(text).toContain('pairguard_consumer_rebalances_total{consumer="membership"} 0');
    expect(text).toContain('pairguard_consumer_crashes_total{consumer="approvals",restart="false"} 0');
    expect(text).toContain('pairguard_frozen_chats 0');
    // pairguard_build_info's labels describe the process (version, revision, node), one series.
    const [build, ...others] = [
      text.split('\n').filter((l) => l.startsWith('pairguard_build_info')),
      text
        .split('\n')
        .filter((l) => !l.startsWith('pairguard_build_info'))
        .join('\n'),
    ];
    expect(build).toHaveLength(1);
    expect(build[0]).toMatch(/^pairguard_build_info\{version="[^"]+",revision="[^"]+",node="v\d+\.\d+\.\d+"\} 1$/);
    const labels = new Set([...others.join('\n').matchAll(/[{,](\w+)="/g)].map((m) => m[1]));
    // direction is the clock-skew counter's: future or past, nothing else.
    expect([...labels].sort()).toEqual(['consumer', 'direction', 'le', 'reason', 'restart', 'topic', 'trigger']);
    expect(new Set([...others.join('\n').matchAll(/direction="(\w+)"/g)].map((m) => m[1]))).toEqual(
      new Set(['future', 'past']),
    );
  });
});
