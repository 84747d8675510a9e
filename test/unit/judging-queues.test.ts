/** The judging queues driven with fake kafkajs payloads: fetching goes on while judging waits, in order, bounded. */
import type { EachBatchPayload } from 'kafkajs';
import { describe, expect, it, vi } from 'vitest';
import type { JudgingQueueDeps } from '../../src/monitor/judging-queues.js';
import { JudgingQueues } from '../../src/monitor/judging-queues.js';
import type { JudgedBatch, PreparedBatch } from '../../src/stream/batch-handler.js';

interface Kafkajs {
  resolved: string[];
  paused: number;
  resumed: number;
  seeks: string[];
  stale: boolean;
}

/** A fetched batch of `offsets` on partition 0 of topic t, 100 bytes a record, as kafkajs hands it over. */
function payload(kafkajs: Kafkajs, offsets: number[], opts: { markersAfter?: number } = {}): EachBatchPayload {
  const last = String(offsets[offsets.length - 1]! + (opts.markersAfter ?? 0));
  return {
    batch: {
      topic: 't',
      partition: 0,
      highWatermark: String(Number(last) + 1),
      messages: offsets.map((o) => ({ offset: String(o), value: Buffer.alloc(100), key: null, timestamp: '0' })),
      lastOffset: () => last,
    },
    resolveOffset: (o: string) => void kafkajs.resolved.push(o),
    heartbeat: async () => undefined,
    isRunning: () => true,
    isStale: () => kafkajs.stale,
    pause: () => {
      kafkajs.paused++;
      return () => void kafkajs.resumed++;
    },
  } as unknown as EachBatchPayload;
}

/** What judging saw: each call's offsets from the batch's first record not judged. */
type Step = (prepared: PreparedBatch) => Promise<JudgedBatch>;

function setUp(opts: { maxQueuedBytes?: number; stopping?: () => boolean } = {}) {
  const kafkajs: Kafkajs = { resolved: [], paused: 0, resumed: 0, seeks: [], stale: false };
  const judged: string[][] = [];
  const marked: string[] = [];
  const failures: string[] = [];
  let busy = 0;
  // Judging takes its steps from here; by default it judges everything at once.
  const steps: Step[] = [];
  const deps: JudgingQueueDeps = {
    prepare: async (p) =>
      ({
        payload: p,
        source: 'messages',
        fetchedAt: 0,
        lateness: undefined,
        from: 0,
        last: null,
        hooks: { unsent: new Set() },
        state: {},
        started: 0,
      }) as unknown as PreparedBatch,
    judge: async (prepared) => {
      judged.push(prepared.payload.batch.messages.slice(prepared.from).map((m) => m.offset));
      const step = steps.shift();
      if (step) return step(prepared);
      prepared.from = prepared.payload.batch.messages.length;
      return 'done';
    },
    markFiltered: async (_t, _p, lastOffset) => void marked.push(lastOffset),
    seek: (_t, _p, offset) => void kafkajs.seeks.push(offset),
    failed: (_t, _p, err) => void failures.push(err.message),
    stopping: opts.stopping ?? (() => false),
    busy: (d) => void (busy += d),
    maxQueuedBytes: opts.maxQueuedBytes ?? 1_000_000,
    retryAfterMs: () => 100,
  };
  return { queues: new JudgingQueues(deps), kafkajs, judged, marked, failures, steps, busy: () => busy };
}

/** A judging step that waits until released, then judges the whole batch. */
function held(): { step: Step; release: () => void; entered: Promise<void> } {
  let release!: () => void;
  let entered!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const enteredP = new Promise<void>((r) => (entered = r));
  return {
    step: async (prepared) => {
      entered();
      await gate;
      prepared.from = prepared.payload.batch.messages.length;
      return 'done';
    },
    release,
    entered: enteredP,
  };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe('JudgingQueues', () => {
  it('hands a batch back to kafkajs resolved before it is judged, and judges the ones fetched meanwhile as one, in order', async () => {
    const { queues, kafkajs, judged, steps, busy } = setUp();
    const first = held();
    steps.push(first.step);
    await queues.accept(payload(kafkajs, [0, 1]));
    await first.entered;
    // eachBatch returned with the batch still being judged: kafkajs fetches on.
    expect(kafkajs.resolved).toEqual(['1']);
    await queues.accept(payload(kafkajs, [2, 3]));
    await queues.accept(payload(kafkajs, [4], { markersAfter: 2 }));
    expect(kafkajs.resolved).toEqual(['1', '3', '4']);
    expect(queues.queued()).toBe(5);
    first.release();
    await settle();
    expect(judged).toEqual([
      ['0', '1'],
      ['2', '3', '4'],
    ]);
    expect(queues.queued()).toBe(0);
    expect(busy()).toBe(0);
  });

  it('tries a batch given up at the frontier again where it stopped, without fetching it again', async () => {
    const { queues, kafkajs, judged, steps } = setUp();
    steps.push(async (p) => {
      p.from = 1;
      return 'yielded';
    });
    await queues.accept(payload(kafkajs, [0, 1, 2]));
    await settle();
    expect(judged).toEqual([
      ['0', '1', '2'],
      ['1', '2'],
    ]);
    expect(kafkajs.seeks).toEqual([]);
  });

  it('pauses a partition whose queue is full and resumes it once only the batch being judged is left', async () => {
    const { queues, kafkajs, steps } = setUp({ maxQueuedBytes: 250 });
    const [first, second] = [held(), held()];
    steps.push(first.step, second.step);
    await queues.accept(payload(kafkajs, [0, 1]));
    await first.entered;
    expect(kafkajs.paused).toBe(0);
    await queues.accept(payload(kafkajs, [2]));
    expect(kafkajs.paused).toBe(1);
    await queues.accept(payload(kafkajs, [3]));
    expect(kafkajs.paused).toBe(1);
    expect(kafkajs.resumed).toBe(0);
    first.release();
    await second.entered;
    // Resumed with the second batch still being judged: the next fetch refills the queue meanwhile.
    expect(kafkajs.resumed).toBe(1);
    second.release();
    await settle();
    expect(kafkajs.resumed).toBe(1);
  });

  it('drops every queue at a group join: the batch being judged turns stale, and nothing queued is judged', async () => {
    const { queues, kafkajs, judged, steps } = setUp({ maxQueuedBytes: 150 });
    let sawStale: boolean | null = null;
    const first = held();
    steps.push(async (p) => {
      const done = first.step(p);
      await done;
      sawStale = p.payload.isStale();
      return 'stopped';
    });
    await queues.accept(payload(kafkajs, [0, 1]));
    await first.entered;
    await queues.accept(payload(kafkajs, [2]));
    expect(kafkajs.paused).toBe(1);
    queues.reset();
    expect(kafkajs.resumed).toBe(1);
    first.release();
    await settle();
    expect(sawStale).toBe(true);
    expect(judged).toEqual([['0', '1']]);
    expect(queues.queued()).toBe(0);
  });

  it('does not queue a batch prepared across a group join: kafkajs fetches it again', async () => {
    const { queues, kafkajs, judged } = setUp();
    const accepting = queues.accept(payload(kafkajs, [0]));
    queues.reset();
    await accepting;
    await settle();
    expect(kafkajs.resolved).toEqual([]);
    expect(judged).toEqual([]);
  });

  it('counts a batch that fails while judged and fetches its partition again from its first record not judged, after a back-off', async () => {
    vi.useFakeTimers();
    try {
      const { queues, kafkajs, judged, failures, steps } = setUp();
      const first = held();
      steps.push(async (p) => {
        await first.step(p);
        p.from = 1;
        throw new Error('redis gone');
      });
      await queues.accept(payload(kafkajs, [5, 6, 7]));
      await first.entered;
      await queues.accept(payload(kafkajs, [8]));
      first.release();
      await vi.advanceTimersByTimeAsync(0);
      expect(failures).toEqual(['redis gone']);
      expect(kafkajs.seeks).toEqual(['6']);
      expect(kafkajs.paused).toBe(1);
      expect(kafkajs.resumed).toBe(0);
      expect(queues.queued()).toBe(0);
      await vi.advanceTimersByTimeAsync(100);
      expect(kafkajs.resumed).toBe(1);
      // Fetched again from the seek: judged as any batch.
      await queues.accept(payload(kafkajs, [6, 7, 8]));
      await vi.advanceTimersByTimeAsync(0);
      expect(judged.at(-1)).toEqual(['6', '7', '8']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('marks a fetch of only transaction markers done in its turn, after the records before it', async () => {
    const { queues, kafkajs, marked, steps } = setUp();
    const first = held();
    steps.push(first.step);
    await queues.accept(payload(kafkajs, [0]));
    await first.entered;
    queues.acceptFiltered('t', 0, '3');
    await settle();
    expect(marked).toEqual([]);
    first.release();
    await settle();
    expect(marked).toEqual(['3']);
  });

  it('judges nothing more once shutdown has begun', async () => {
    let stopping = false;
    const { queues, kafkajs, judged, steps } = setUp({ stopping: () => stopping });
    const first = held();
    steps.push(first.step);
    await queues.accept(payload(kafkajs, [0]));
    await first.entered;
    await queues.accept(payload(kafkajs, [1]));
    stopping = true;
    first.release();
    await settle();
    expect(judged).toEqual([['0']]);
  });
});
