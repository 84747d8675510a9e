/** The consumer runner driven with a fake kafkajs consumer made of plain functions, as kafkajs tests its own runner. */
import type { Admin, Consumer, EachBatchPayload } from 'kafkajs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConsumerRunner } from '../../src/monitor/consumer-runner.js';
import type { PreparedBatch } from '../../src/stream/batch-handler.js';
import { createSlots } from '../../src/monitor/consumer-slots.js';
import { Timers } from '../../src/monitor/timers.js';
import { createLogger } from '../../src/observability/logger.js';
import { Metrics } from '../../src/observability/metrics.js';
import { LogSink } from '../../src/testing/environment.js';

type Listener = (e: { payload: Record<string, unknown> }) => void;

/** A kafkajs consumer that records its listeners and its eachBatch, and does nothing else. */
function fakeConsumer() {
  const listeners = new Map<string, Listener[]>();
  const fake = {
    events: { GROUP_JOIN: 'join', REBALANCING: 'rebalancing', CRASH: 'crash', END_BATCH_PROCESS: 'end' },
    eachBatch: null as null | ((p: EachBatchPayload) => Promise<void>),
    on: (event: string, fn: Listener) => void listeners.set(event, [...(listeners.get(event) ?? []), fn]),
    emit: (event: string, payload: Record<string, unknown>) => listeners.get(event)?.forEach((fn) => fn({ payload })),
    connect: async () => undefined,
    subscribe: async () => undefined,
    disconnect: async () => undefined,
    run: async (o: { eachBatch: (p: EachBatchPayload) => Promise<void> }) => void (fake.eachBatch = o.eachBatch),
  };
  return fake;
}
type FakeConsumer = ReturnType<typeof fakeConsumer>;

function setUp(prepareBatch: (p: EachBatchPayload) => Promise<PreparedBatch | null> = async () => null) {
  const made: FakeConsumer[] = [];
  const newConsumer = () => {
    const c = fakeConsumer();
    made.push(c);
    return c as unknown as Consumer;
  };
  const logs = new LogSink();
  const logger = createLogger('info', logs);
  const metrics = new Metrics({ processMetrics: false });
  const group = { name: 'approvals' as const, groupId: 'g.approvals', topics: ['a'], waitsFor: [] };
  const [slot] = createSlots([group], newConsumer, logger);
  const admin = { fetchOffsets: async () => [] } as unknown as Admin;
  const runner = new ConsumerRunner({
    admin,
    logger,
    metrics,
    timers: new Timers(() => false),
    newConsumer,
    stopping: () => false,
    prepareBatch,
    judgePrepared: async () => 'done',
    markFiltered: async () => undefined,
  });
  const lines = () =>
    logs.text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string });
  return { slot: slot!, runner, made, metrics, lines };
}

const batch = {
  batch: { topic: 'a', partition: 0, messages: [{ offset: '7', value: null }] },
} as unknown as EachBatchPayload;

afterEach(() => {
  vi.useRealTimers();
});

describe('ConsumerRunner', () => {
  it('reports a consumer kafkajs gave up on, builds it again after a back-off, and runs once it rejoins', async () => {
    vi.useFakeTimers();
    const { slot, runner, made, lines } = setUp();
    await runner.run(slot);
    made[0]!.emit('join', { memberAssignment: { a: [0] }, groupId: 'g.approvals', duration: 1 });
    expect([slot.assignment, slot.down]).toEqual([{ a: [0] }, null]);

    made[0]!.emit('crash', { restart: false, error: new Error('coordinator gone'), groupId: 'g.approvals' });
    expect(slot.down).toBe('consumer stopped: approvals: coordinator gone');
    await vi.advanceTimersByTimeAsync(999);
    expect(made).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(made).toHaveLength(2);
    expect([slot.consumer, slot.assignment]).toEqual([made[1], null]);
    expect(lines().map((l) => l.msg)).toContain('consumer restarted, rejoining its group');

    made[1]!.emit('join', { memberAssignment: { a: [0] }, groupId: 'g.approvals', duration: 1 });
    expect(slot.down).toBeNull();
    // A crash of the consumer it replaced asks for nothing.
    made[0]!.emit('crash', { restart: false, error: new Error('late'), groupId: 'g.approvals' });
    expect(slot.down).toBeNull();
  });

  it('counts a failed batch, says so, and lets kafkajs retry it', async () => {
    const { slot, runner, made, metrics, lines } = setUp(async () => {
      throw new Error('redis gone');
    });
    await runner.run(slot);
    await expect(made[0]!.eachBatch!(batch)).rejects.toThrow('redis gone');
    expect(slot.inFlight).toBe(0);
    expect((await metrics.batchFailures.get()).values.map((v) => [v.labels, v.value])).toEqual([[{ topic: 'a' }, 1]]);
    expect(lines().at(-1)?.msg).toBe('batch failed, will be retried');
  });
});
