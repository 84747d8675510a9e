/**
 * The batch path step by step (stream/batch/), and handleBatch as their composition, driven with a
 * fake kafkajs payload and the in-memory store: what is judged, in which lane, what is written,
 * and above all what is committed, when a chunk is abandoned, a lane fails or the barrier stops.
 */
import pLimit from 'p-limit';
import { describe, expect, it } from 'vitest';
import type { InputEvent } from '../../src/events/schema.js';
import type { JudgeTask } from '../../src/stream/batch/lane-plan.js';
import { judgeEvent } from '../../src/judge/judge.js';
import { MemoryFreezeBreaker } from '../../src/state/memory-breaker.js';
import { MemoryStore } from '../../src/state/memory-store.js';
import type { SenderState, StateStore } from '../../src/state/store.js';
import { collectInOrder, Tally } from '../../src/stream/batch/chunk-result.js';
import type { RecordResult } from '../../src/stream/batch/chunk-result.js';
import { decodeChunk } from '../../src/stream/batch/decode-chunk.js';
import { doneThrough, flushChunk } from '../../src/stream/batch/flush.js';
import { planLanes } from '../../src/stream/batch/lane-plan.js';
import { runLanes } from '../../src/stream/batch/run-lanes.js';
import { readSenders } from '../../src/stream/batch/senders.js';
import {
  FLUSH_EVERY,
  appendPrepared,
  handleBatch,
  handleFilteredBatch,
  judgePrepared,
  ownBatch,
  prepareBatch,
} from '../../src/stream/batch-handler.js';
import { latenessAt } from '../../src/stream/batch/judge-chunk.js';
import { judgedPast } from '../../src/judge/reconcile.js';
import type { FakeRecord } from '../support/fake-batch.js';
import { deferred, eventsOf, fakeBatch, recordingContext, spyStore, TOPICS } from '../support/fake-batch.js';
import { T0, added, approve, created, iso, message, reg, revoke } from '../support/events.js';

const NOW = T0 + 3_600_000;
const LIMITS = { maxValueBytes: 4096, maxMembers: 10 };

const unfrozen = (chatId: string, s = 0) => ({ type: 'chat.unfrozen', chatId, by: 'rev', occurredAt: iso(s) }) as const;
const reset = (s = 0) => ({ type: 'freeze-breaker.reset', by: 'oncall', occurredAt: iso(s) }) as const;

/** Puts events into the store through the judge, as if an earlier batch had judged them. */
async function seed(store: StateStore, events: InputEvent[]): Promise<void> {
  for (const event of events)
    await judgeEvent(
      { store, mode: 'enforce', now: () => NOW },
      {
        event,
        at: Date.parse(event.occurredAt),
        ref: { eventId: event.eventId, type: event.type, topic: 'seed', partition: 0, offset: 0 },
      },
    );
}

/** Counts every store call by method name, and lets a test intercept some. */
function counting(inner: StateStore, intercept: (method: string, args: unknown[]) => Promise<void> | void = () => {}) {
  const calls: Array<{ method: string; args: unknown[] }> = [];
  const store = spyStore(inner, async (method, args, call) => {
    calls.push({ method, args });
    await intercept(method, args);
    return call();
  });
  const count = (method: string) => calls.filter((c) => c.method === method).length;
  return { store, calls, count };
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('decodeChunk', () => {
  it('decodes input records against their own Kafka timestamps, and control records not for pairguard as null', () => {
    const effects: string[] = [];
    const inputs = fakeBatch(TOPICS.membership, [added('c', 'u', 10_000), Buffer.from('{nope')], effects);
    const d = decodeChunk('membership', inputs.payload.batch.messages, LIMITS, 300);
    expect(d.source).toBe('membership');
    // occurredAt is 10 000 s after the record's timestamp: judged as of the timestamp.
    expect(d.records[0]).toMatchObject({ ok: true, at: T0, skew: 'future' });
    expect(d.records[1]).toMatchObject({ ok: false, reason: 'invalid-json' });

    const control = fakeBatch(TOPICS.control, [unfrozen('c', 5), { type: 'chat.freeze', chatId: 'c' }], effects);
    const c = decodeChunk('control', control.payload.batch.messages, LIMITS, 300);
    expect(c.records[0]).toMatchObject({ ok: true, at: T0 + 5000, event: { type: 'chat.unfrozen' } });
    expect(c.records[1]).toBeNull();
  });
});

describe('planLanes (pure)', () => {
  const plan = (
    topic: string,
    records: FakeRecord[],
    senders: ReadonlyMap<number, SenderState> | null = null,
    from = 0,
  ) => {
    const batch = fakeBatch(topic, records, [], { firstOffset: 100 + from });
    const source =
      topic === TOPICS.control
        ? 'control'
        : (Object.entries(TOPICS).find(([, t]) => t === topic)![0] as 'approvals' | 'membership' | 'messages');
    return planLanes({
      topic,
      partition: 3,
      from,
      messages: batch.payload.batch.messages,
      decoded: decodeChunk(source, batch.payload.batch.messages, LIMITS, 300),
      senders,
    });
  };

  it('puts approvals in one lane per child, registrations in their user lane, in record order, keyed by batch index', () => {
    const p = plan(
      TOPICS.approvals,
      [approve('kid', 'a'), reg('x', 'adult'), approve('kid', 'b'), reg('kid', 'child')],
      null,
      500,
    );
    expect([...p.lanes]).toEqual([
      ['u:kid', [500, 502, 503]],
      ['u:x', [501]],
    ]);
    const task = p.tasks.get(502) as Extract<JudgeTask, { kind: 'input' }>;
    expect(task.trigger.ref).toEqual({
      eventId: task.trigger.event.eventId,
      type: 'contact.approved',
      topic: TOPICS.approvals,
      partition: 3,
      offset: 602,
    });
    expect(p.membership).toEqual([]);
  });

  it('puts membership in one lane per chat and lists it, in record order, for preparing', () => {
    const p = plan(TOPICS.membership, [created('a', ['k1', 'k2'], 1), added('b', 'k3', 2), added('a', 'k4', 3)]);
    expect([...p.lanes]).toEqual([
      ['c:a', [0, 2]],
      ['c:b', [1]],
    ]);
    // Each with its stamp: moment, the membership topic's rank, the fake batch's partition 3, offset.
    expect(p.membership.map((m) => [m.event.type, m.at])).toEqual([
      ['chat.created', [T0 + 1000, 1, 3, 100]],
      ['member.added', [T0 + 2000, 1, 3, 101]],
      ['member.added', [T0 + 3000, 1, 3, 102]],
    ]);
  });

  it('turns malformed records into dead letters, in record order, and reports them', () => {
    const p = plan(TOPICS.membership, [Buffer.from('{bad'), added('a', 'k'), null, reg('x', 'adult')], null);
    expect(p.deadLetters.map((d) => [d.record.offset, d.record.error.split(':')[0]])).toEqual([
      [100, 'invalid-json'],
      [102, 'empty-value'],
      [103, 'wrong-topic'],
    ]);
    expect(eventsOf(p.events, 'record.dead-lettered').map((e) => [e.offset, e.reason, e.partition])).toEqual([
      ['100', 'invalid-json', 3],
      ['102', 'empty-value', 3],
      ['103', 'wrong-topic', 3],
    ]);
    expect(p.counts.entries()).toEqual([{ eventType: 'unknown', outcome: 'dead-lettered', count: 3 }]);
    expect([...p.lanes.values()]).toEqual([[1]]);
  });

  it('reports skewed clocks of readable records, before judging', () => {
    const p = plan(TOPICS.approvals, [reg('x', 'adult', 10_000), reg('y', 'adult', -10_000), reg('z', 'adult')]);
    expect(eventsOf(p.events, 'clock.skewed').map((e) => [e.offset, e.direction])).toEqual([
      ['100', 'future'],
      ['101', 'past'],
    ]);
    expect(p.lanes.size).toBe(3);
  });

  it('settles a member’s message without the judge, reporting it when the chat is frozen; a stranger’s goes to its chat lane', async () => {
    const store = new MemoryStore();
    // kid and stranger in chat f, nobody approved: f is frozen. kid alone in chat ok.
    await seed(store, [
      reg('kid', 'child'),
      reg('stranger', 'adult'),
      created('f', ['kid', 'stranger']),
      created('ok', ['kid']),
    ]);
    const records = [message('ok', 'kid', 10), message('f', 'kid', 11), message('ok', 'nobody', 12)];
    const decoded = records.map((r) => ({ ok: true as const, event: r, at: Date.parse(r.occurredAt) }));
    const senders = await readSenders(store, decoded, 0);
    const p = plan(TOPICS.messages, records, senders);
    expect([...p.lanes]).toEqual([['c:ok', [2]]]);
    expect((p.tasks.get(2) as Extract<JudgeTask, { kind: 'input' }>).sender).toEqual(senders.get(2));
    expect(p.counts.entries()).toEqual([{ eventType: 'message.sent', outcome: 'applied', count: 2 }]);
    expect(p.events).toEqual([{ type: 'message.after-freeze', topic: TOPICS.messages }]);
  });

  it('puts breaker resets in one lane, unfreezes in their chat’s, and counts control records not for pairguard', () => {
    const p = plan(TOPICS.control, [
      unfrozen('a'),
      reset(),
      { type: 'chat.freeze', chatId: 'a' },
      unfrozen('a'),
      reset(),
    ]);
    expect([...p.lanes]).toEqual([
      ['a', [0, 3]],
      ['freeze-breaker', [1, 4]],
    ]);
    expect(p.tasks.get(1)?.kind).toBe('breaker-reset');
    expect(p.counts.entries()).toEqual([{ eventType: 'other', outcome: 'ignored', count: 1 }]);
  });
});

describe('runLanes', () => {
  it('judges each lane in record order, at most `limit` records at once', async () => {
    const order: number[] = [];
    let inFlight = 0;
    let most = 0;
    const results = await runLanes(
      [[0, 3, 5], [1, 4], [2]],
      async (i) => {
        most = Math.max(most, ++inFlight);
        await tick();
        order.push(i);
        inFlight--;
        return i * 10;
      },
      () => false,
      2,
    );
    expect(most).toBe(2);
    expect([...results!].sort(([a], [b]) => a - b)).toEqual([0, 1, 2, 3, 4, 5].map((i) => [i, i * 10]));
    for (const lane of [
      [0, 3, 5],
      [1, 4],
    ])
      expect(order.filter((i) => lane.includes(i))).toEqual(lane);
  });

  it('abandons the chunk when stopped between records: null, and no record after the stop is judged', async () => {
    let stopped = false;
    const judged: number[] = [];
    const results = await runLanes(
      [
        [0, 2],
        [1, 3],
      ],
      async (i) => {
        judged.push(i);
        await tick();
        if (i === 0) stopped = true;
        return i;
      },
      () => stopped,
    );
    expect(results).toBeNull();
    expect(judged.sort()).toEqual([0, 1]);
  });

  it('stops every lane after a failure, and throws only once the lane still judging has finished', async () => {
    const slow = deferred();
    const judged: number[] = [];
    let settled = false;
    const running = runLanes(
      [[0], [1, 2]],
      async (i) => {
        judged.push(i);
        if (i === 0) throw new Error('redis down');
        if (i === 1) await slow.promise;
        return i;
      },
      () => false,
    ).finally(() => (settled = true));
    running.catch(() => undefined);
    await tick();
    expect(settled).toBe(false);
    slow.resolve();
    await expect(running).rejects.toThrow('redis down');
    expect(judged).toEqual([0, 1]);
  });
});

describe('collectInOrder', () => {
  it('puts outputs back in record order and counts every record', () => {
    const out = (id: string) =>
      ({ kind: 'freeze', chatId: id, record: { alertId: id } }) as unknown as RecordResult['outputs'][number];
    const results = new Map<number, RecordResult>([
      [7, { outputs: [out('c')], type: 'member.added', outcome: 'violation' }],
      [2, { outputs: [out('a'), out('b')], type: 'chat.created', outcome: 'violation' }],
      [5, { outputs: [], type: 'member.added', outcome: 'applied' }],
    ]);
    const counts = new Tally();
    counts.add('unknown', 'dead-lettered');
    const r = collectInOrder(results, [], counts);
    expect(r.outputs.map((o) => o.chatId)).toEqual(['a', 'b', 'c']);
    expect(r.counts.entries()).toEqual([
      { eventType: 'unknown', outcome: 'dead-lettered', count: 1 },
      { eventType: 'chat.created', outcome: 'violation', count: 1 },
      { eventType: 'member.added', outcome: 'applied', count: 1 },
      { eventType: 'member.added', outcome: 'violation', count: 1 },
    ]);
  });
});

describe('flushChunk', () => {
  it('writes the outputs, then resolves, marks done and heartbeats, then reports the counts', async () => {
    const r = recordingContext(new MemoryStore(), NOW);
    const batch = fakeBatch(TOPICS.membership, [added('a', 'k')], r.effects, { partition: 2 });
    const counts = new Tally();
    counts.add('member.added', 'applied');
    await flushChunk(r.ctx, batch.payload, 'membership', { outputs: [], deadLetters: [], counts }, '100');
    // The chunk's facts were marked applied before it was judged (apply-facts.ts), not here.
    expect(r.effects).toEqual(['publish', 'resolve 100', 'done 101', 'heartbeat']);
    expect(r.done).toEqual([{ topic: TOPICS.membership, partition: 2, next: '101' }]);
    expect(r.events).toEqual([
      { type: 'records.counted', topic: TOPICS.membership, eventType: 'member.added', outcome: 'applied', count: 1 },
    ]);
  });

  it('marks nothing applied for messages: no barrier waits for them', async () => {
    const r = recordingContext(new MemoryStore(), NOW);
    const batch = fakeBatch(TOPICS.messages, [message('a', 'k')], r.effects);
    await flushChunk(r.ctx, batch.payload, 'messages', { outputs: [], deadLetters: [], counts: new Tally() }, '100');
    expect(r.effects).toEqual(['publish', 'resolve 100', 'done 101', 'heartbeat']);
  });

  it('is done through the batch’s last offset on its last chunk, transaction markers included', () => {
    const batch = fakeBatch(TOPICS.approvals, [reg('a', 'adult'), reg('b', 'adult'), reg('c', 'adult')], [], {
      trailingMarkers: 2,
    }).payload.batch;
    expect(doneThrough(batch, 2)).toBe('101');
    expect(doneThrough(batch, 3)).toBe('104');
  });
});

describe('handleBatch', () => {
  it('commits chunk by chunk with rising offsets, the last through the trailing transaction markers', async () => {
    const store = new MemoryStore();
    const r = recordingContext(store, NOW);
    const records = Array.from({ length: 2 * FLUSH_EVERY + 1 }, (_, i) => reg(`u${i % 7}`, 'adult', i % 60));
    const batch = fakeBatch(TOPICS.approvals, records, r.effects, { trailingMarkers: 2 });
    await handleBatch(r.ctx, batch.payload);

    const ends = [99 + FLUSH_EVERY, 99 + 2 * FLUSH_EVERY, 100 + 2 * FLUSH_EVERY + 2];
    // The batch's facts first, a chunk at a time (apply-batch.ts), then each chunk judged and committed.
    expect(r.effects).toEqual([
      ...ends.map((end) => `applied ${TOPICS.approvals} ${end + 1}`),
      ...ends.flatMap((end) => ['publish', `resolve ${end}`, `done ${end + 1}`, 'heartbeat']),
    ]);
    expect(await store.appliedOffsets(TOPICS.approvals)).toEqual(new Map([[0, BigInt(ends[2]! + 1)]]));
    const counted = eventsOf(r.events, 'records.counted');
    expect(counted.reduce((n, c) => n + c.count, 0)).toBe(records.length);
    // The lag gauges hear of the last record handled, not of the markers.
    expect(eventsOf(r.events, 'partition.handled')).toEqual([
      {
        type: 'partition.handled',
        topic: TOPICS.approvals,
        partition: 0,
        next: BigInt(100 + 2 * FLUSH_EVERY + 1),
        high: BigInt(ends[2]! + 1),
        lastTimestamp: T0,
      },
    ]);
    expect(eventsOf(r.events, 'batch.handled')).toHaveLength(1);
  });

  it('writes outputs in record order, whichever lane finishes first', async () => {
    const inner = new MemoryStore();
    await seed(inner, [reg('k1', 'child'), reg('k2', 'child'), reg('x', 'adult'), reg('y', 'adult')]);
    // Chat a's decision is held until chat b's lane is done.
    const bDone = deferred();
    const { store } = counting(inner, async (method, args) => {
      if (method === 'openEpisode' && args[0] === 'a') await bDone.promise;
      if (method === 'recordFreeze' && args[0] === 'b') bDone.resolve();
    });
    const r = recordingContext(store, NOW);
    const batch = fakeBatch(TOPICS.membership, [created('a', ['k1', 'x'], 1), created('b', ['k2', 'y'], 2)], r.effects);
    await handleBatch(r.ctx, batch.payload);
    expect(r.published).toHaveLength(1);
    expect(r.published[0]!.outputs.map((o) => [o.kind, o.chatId])).toEqual([
      ['alert', 'a'],
      ['freeze', 'a'],
      ['alert', 'b'],
      ['freeze', 'b'],
    ]);
    expect(eventsOf(r.events, 'alert.written').map((e) => [e.record.chatId, e.recovered, e.writtenAt])).toEqual([
      ['a', false, NOW],
      ['b', false, NOW],
    ]);
    expect(eventsOf(r.events, 'records.counted')).toEqual([
      { type: 'records.counted', topic: TOPICS.membership, eventType: 'chat.created', outcome: 'violation', count: 2 },
    ]);
  });

  it('flushes nothing of a chunk whose partition is revoked while it is judged', async () => {
    const inner = new MemoryStore();
    let batch: ReturnType<typeof fakeBatch> | null = null;
    const { store } = counting(inner, (method, args) => {
      // The first record of the second chunk: the partition moves to another instance meanwhile.
      if (method === 'chatsOf' && args[0] === 'late0') batch!.stale = true;
    });
    const r = recordingContext(store, NOW);
    const records = [
      ...Array.from({ length: FLUSH_EVERY }, (_, i) => reg(`early${i}`, 'adult')),
      ...Array.from({ length: 10 }, (_, i) => reg(`late${i % 2}`, 'adult')),
    ];
    batch = fakeBatch(TOPICS.approvals, records, r.effects);
    await handleBatch(r.ctx, batch.payload);
    const end = 99 + FLUSH_EVERY;
    // The whole batch's facts are in state and marked applied before judging (apply-batch.ts;
    // merges: whoever consumes it next finds them applied); the second chunk is neither written
    // nor resolved.
    expect(r.effects).toEqual([
      `applied ${TOPICS.approvals} ${end + 1}`,
      `applied ${TOPICS.approvals} ${end + 11}`,
      'publish',
      `resolve ${end}`,
      `done ${end + 1}`,
      'heartbeat',
    ]);
    expect(eventsOf(r.events, 'partition.handled').map((e) => e.next)).toEqual([BigInt(end + 1)]);
    expect(eventsOf(r.events, 'records.counted').reduce((n, c) => n + c.count, 0)).toBe(FLUSH_EVERY);
  });

  it('flushes and commits nothing when revoked during its only chunk', async () => {
    let batch: ReturnType<typeof fakeBatch> | null = null;
    const { store, count } = counting(new MemoryStore(), (method) => {
      if (method === 'chatsOf') batch!.stale = true;
    });
    const r = recordingContext(store, NOW);
    // Revocations: an approval only ends violations, and is not judged (judge.ts).
    batch = fakeBatch(TOPICS.approvals, [revoke('k', 'a'), revoke('k', 'b'), revoke('k', 'c')], r.effects);
    await handleBatch(r.ctx, batch.payload);
    expect(r.effects).toEqual([`applied ${TOPICS.approvals} 103`]);
    // The first record's two reads (the child's chats and the contact's), and no other record judged.
    expect(count('chatsOf')).toBe(2);
    expect(eventsOf(r.events, 'partition.handled')).toEqual([]);
    expect(eventsOf(r.events, 'batch.handled')).toHaveLength(1);
  });

  it('fails the batch when a lane fails, only after every other lane stopped, and resolves nothing', async () => {
    const slow = deferred();
    const { store, calls } = counting(new MemoryStore(), async (method, args) => {
      if (method !== 'chatsOf') return;
      if (args[0] === 'bad') throw new Error('redis down');
      if (args[0] === 'slow') await slow.promise;
    });
    const r = recordingContext(store, NOW);
    const batch = fakeBatch(
      TOPICS.approvals,
      [reg('bad', 'adult'), reg('slow', 'adult'), reg('slow', 'child', 5)],
      r.effects,
    );
    let settled = false;
    const handled = handleBatch(r.ctx, batch.payload).finally(() => (settled = true));
    handled.catch(() => undefined);
    await tick();
    expect(settled).toBe(false);
    slow.resolve();
    await expect(handled).rejects.toThrow('redis down');
    // The slow lane finished its record and judged no other.
    expect(calls.filter((c) => c.method === 'chatsOf').map((c) => c.args[0])).toEqual(['bad', 'slow']);
    expect(r.effects).toEqual([`applied ${TOPICS.approvals} 103`]);
    expect(r.done).toEqual([]);
  });

  it('abandons membership when the frontier wait stops (shutdown): facts applied, nothing judged, written or committed', async () => {
    const stopped: string[] = [];
    const { store, count } = counting(new MemoryStore());
    const r = recordingContext(store, NOW, {
      frontierReach: async () => 0,
      frontier: async (ask) => {
        stopped.push(ask.facts);
        return { passed: false, why: 'stopped', behind: 1 };
      },
    });
    const batch = fakeBatch(TOPICS.membership, [created('a', ['k1', 'x']), added('a', 'y')], r.effects);
    await handleBatch(r.ctx, batch.payload);
    expect(stopped).toEqual(['inputs']);
    // The facts are in state before the wait (merges: applying them again changes nothing).
    expect(count('applyMembershipChanges')).toBe(1);
    expect(count('openEpisode')).toBe(0);
    expect(r.effects).toEqual([`applied ${TOPICS.membership} 102`]);
    expect(eventsOf(r.events, 'partition.handled')).toEqual([]);
  });

  it('applies the whole batch’s facts first, then judges each chunk as far as the frontier is past, going on with the rest', async () => {
    const order: string[] = [];
    const store = spyStore(new MemoryStore(), async (method, _args, call) => {
      if (method === 'markApplied') order.push('marked');
      return call();
    });
    let reaches = 0;
    const r = recordingContext(store, NOW, {
      frontierReach: async (ask, stamps) => {
        order.push(`reach ${ask.facts} ${stamps.length}`);
        // Past the first two records at first, then past all.
        return reaches++ === 0 ? 2 : stamps.length;
      },
      frontier: async () => {
        throw new Error('not waited for: the frontier is past the first records');
      },
    });
    const records = Array.from({ length: FLUSH_EVERY + 1 }, (_, i) => added(`c${i}`, `k${i}`));
    await handleBatch(r.ctx, fakeBatch(TOPICS.membership, records, r.effects).payload);
    // Both chunks' facts applied and marked before anything is judged; the first chunk judges and
    // commits its first two records, the next chunk (from offset 102) the rest.
    expect(order).toEqual(['marked', 'marked', `reach inputs ${FLUSH_EVERY}`, `reach inputs ${FLUSH_EVERY - 1}`]);
    expect(r.done.map((d) => d.next)).toEqual(['102', String(101 + FLUSH_EVERY)]);
    expect(eventsOf(r.events, 'records.counted').map((c) => c.count)).toEqual([2, FLUSH_EVERY - 1]);
  });

  it('waits at the frontier for the chunk’s first record when the frontier is past none of it', async () => {
    const asked: Array<[string, number]> = [];
    let reached = 0;
    const r = recordingContext(new MemoryStore(), NOW, {
      frontierReach: async (_ask, stamps) => (reached++ === 0 ? 0 : stamps.length),
      frontier: async (ask) => {
        asked.push([ask.facts, ask.through[3]]);
        return { passed: true, waitedMs: 0 };
      },
    });
    const records = [added('a', 'k1'), added('b', 'k2'), added('c', 'k3')];
    await handleBatch(r.ctx, fakeBatch(TOPICS.membership, records, r.effects).payload);
    expect(asked).toEqual([['inputs', 100]]);
    expect(r.done.map((d) => d.next)).toEqual(['103']);
  });

  it('judges a single record once its wait passed, even when watermarks read since hold newer records', async () => {
    // The wait passed; the reach read after it sees a later watermark (another batch's) and is past nothing.
    const r = recordingContext(new MemoryStore(), NOW, {
      frontierReach: async () => 0,
      frontier: async () => ({ passed: true, waitedMs: 3 }),
    });
    await handleBatch(r.ctx, fakeBatch(TOPICS.membership, [created('a', ['k1', 'x'])], r.effects).payload);
    expect(r.done.map((d) => d.next)).toEqual(['101']);
    expect(r.published.flatMap((p) => p.outputs).filter((o) => o.kind === 'alert')).toHaveLength(1);
  });

  it('judges batches queued behind one another as one: one wait, each record late by its own batch’s marks, done through the last', async () => {
    const store = new MemoryStore();
    const waits: Array<readonly number[]> = [];
    const r = recordingContext(store, NOW, {
      frontier: async (ask) => {
        waits.push(ask.through);
        return { passed: true, waitedMs: 0 };
      },
      frontierReach: async (_ask, stamps) => (waits.length === 0 ? 0 : stamps.length),
    });
    const first = fakeBatch(TOPICS.membership, [created('a', ['k1', 'k2'], 10)], r.effects, { firstOffset: 100 });
    const second = fakeBatch(TOPICS.membership, [added('b', 'k3', 5)], r.effects, {
      firstOffset: 101,
      trailingMarkers: 1,
    });
    const a = (await prepareBatch(r.ctx, first.payload))!;
    // Judging passed second 8 between the two fetches: the second batch's record (second 5) is late, the first's is not.
    await store.markJudged(T0 + 8_000);
    const b = (await prepareBatch(r.ctx, second.payload))!;
    const merged = { ...a, payload: { ...a.payload, batch: ownBatch(a.payload.batch) } };
    appendPrepared(merged, b);
    expect(merged.payload.batch.messages.map((m) => m.offset)).toEqual(['100', '101']);
    expect(merged.payload.batch.lastOffset()).toBe('102');
    expect(merged.fetchedAt).toBe(b.fetchedAt);
    expect(merged.lateness!.map((l) => [l.fromOffset, l.judgedBefore])).toEqual([
      [100n, a.lateness![0]!.judgedBefore],
      [101n, T0 + 8_000],
    ]);
    expect(latenessAt(merged.lateness!, 100n).judgedBefore).toBe(a.lateness![0]!.judgedBefore);
    expect(latenessAt(merged.lateness!, 101n).judgedBefore).toBe(T0 + 8_000);
    expect(await judgePrepared(r.ctx, merged)).toBe('done');
    // One wait for the first record; a second one, for the late record, as of the moment judging had passed.
    expect(waits.map((w) => [w[0], w[3]])).toEqual([
      [T0 + 10_000, 100],
      [T0 + 8_000, judgedPast(T0 + 8_000)[3]],
    ]);
    expect(r.done.map((d) => d.next)).toEqual(['103']);
  });

  it('applies a partition’s next batch ahead before or after a chunk’s judged mark and reads, never between them', async () => {
    let entered!: () => void;
    let release!: () => void;
    const inJudging = new Promise<void>((r) => (entered = r));
    const gate = new Promise<void>((r) => (release = r));
    const order: string[] = [];
    const store = spyStore(new MemoryStore(), async (method, _args, call) => {
      if (method === 'markJudged') {
        order.push('judge: mark');
        entered();
        await gate;
      }
      if (method === 'judgedThrough') order.push('next batch: lateness read');
      return call();
    });
    const locks = new Map<string, ReturnType<typeof pLimit>>();
    const r = recordingContext(store, NOW, {
      exclusive: (topic, partition, fn) => {
        const key = `${topic}/${partition}`;
        if (!locks.has(key)) locks.set(key, pLimit(1));
        return locks.get(key)!(fn);
      },
    });
    const first = fakeBatch(TOPICS.membership, [created('a', ['k1', 'k2'], 10)], r.effects, { firstOffset: 100 });
    const second = fakeBatch(TOPICS.membership, [added('a', 'k3', 5)], r.effects, { firstOffset: 101 });
    const a = (await prepareBatch(r.ctx, first.payload))!;
    order.length = 0;
    const judging = judgePrepared(r.ctx, a);
    await inJudging;
    const preparing = prepareBatch(r.ctx, second.payload);
    await new Promise((done) => setTimeout(done, 5));
    // Held while the chunk's mark stands and its reads are under way.
    expect(order).toEqual(['judge: mark']);
    release();
    await judging;
    const b = (await preparing)!;
    expect(order).toEqual(['judge: mark', 'next batch: lateness read']);
    // Read after the mark: its record (second 5) is late against the moment judged (second 10).
    expect(b.lateness![0]!.judgedBefore).toBe(T0 + 10_000);
  });

  it('gives the batch up, unjudged and uncommitted, when the frontier is not reached in time', async () => {
    const r = recordingContext(new MemoryStore(), NOW, {
      frontierReach: async () => 0,
      frontier: async () => ({ passed: false, why: 'yielded', behind: 2 }),
    });
    const batch = fakeBatch(TOPICS.approvals, [reg('k', 'child'), revoke('k', 'x')], r.effects);
    await handleBatch(r.ctx, batch.payload);
    expect(r.effects).toEqual([`applied ${TOPICS.approvals} 102`]);
    expect(r.done).toEqual([]);
  });

  it('fails the batch when the barrier fails (its reads time out), and resolves nothing', async () => {
    const r = recordingContext(new MemoryStore(), NOW, {
      frontierReach: async () => 0,
      frontier: async () => {
        throw new Error('barrier timed out');
      },
    });
    const batch = fakeBatch(TOPICS.membership, [created('a', ['k1', 'x'])], r.effects);
    await expect(handleBatch(r.ctx, batch.payload)).rejects.toThrow('barrier timed out');
    expect(r.effects).toEqual([`applied ${TOPICS.membership} 101`]);
  });

  it('sends malformed records to the dead-letter topic in record order, with the batch’s other records', async () => {
    const inner = new MemoryStore();
    await seed(inner, [reg('k', 'child'), created('a', ['k'])]);
    const r = recordingContext(inner, NOW);
    const records = [message('a', 'k', 1), Buffer.from('{bad'), message('a', 'k', 2), added('a', 'k'), null];
    const batch = fakeBatch(TOPICS.messages, records, r.effects, { keys: ['a', 'a', 'a', 'x', 'y'] });
    await handleBatch(r.ctx, batch.payload);
    const [flushed] = r.published;
    expect(flushed!.deadLetters.map((d) => [d.key?.toString(), d.record.offset, d.record.error.split(':')[0]])).toEqual(
      [
        ['a', 101, 'invalid-json'],
        ['x', 103, 'wrong-topic'],
        ['y', 104, 'empty-value'],
      ],
    );
    expect(eventsOf(r.events, 'record.dead-lettered').map((e) => e.offset)).toEqual(['101', '103', '104']);
    // First "nothing before my first message" (judge-chunk.ts), then the chunk's facts.
    expect(r.effects).toEqual([
      `applied ${TOPICS.messages} 100`,
      `applied ${TOPICS.messages} 105`,
      'publish',
      'resolve 104',
      'done 105',
      'heartbeat',
    ]);
    expect(eventsOf(r.events, 'records.counted').map((c) => [c.eventType, c.outcome, c.count])).toEqual([
      ['message.sent', 'applied', 2],
      ['unknown', 'dead-lettered', 3],
    ]);
  });

  it('takes the member fast path: every sender read in one round trip, nothing judged or written', async () => {
    const inner = new MemoryStore();
    await seed(inner, [
      reg('k1', 'child'),
      reg('k2', 'child'),
      approve('k1', 'k2'),
      approve('k2', 'k1'),
      created('a', ['k1', 'k2']),
    ]);
    const { store, calls } = counting(inner);
    const judgedWith: string[] = [];
    const r = recordingContext(store, NOW, {
      frontierReach: async (ask, stamps) => {
        judgedWith.push(ask.facts);
        return stamps.length;
      },
    });
    const batch = fakeBatch(
      TOPICS.messages,
      [message('a', 'k1', 1), message('a', 'k2', 2), message('a', 'k1', 3)],
      r.effects,
    );
    await handleBatch(r.ctx, batch.payload);
    expect(calls.map((c) => c.method)).toEqual([
      'stateIntact',
      'judgedThrough',
      'appliedPositions',
      // Nothing on the partition before its first message: marked before waiting for membership.
      'markApplied',
      'readSenders',
      'markApplied',
    ]);
    expect(calls[4]!.args[0]).toHaveLength(3);
    // Who was a member as of the messages (membership); members' messages wait for nothing more
    // (no inputs frontier) and judge nothing, so they do not raise the judged mark either.
    expect(judgedWith).toEqual(['membership']);
    expect(r.published).toEqual([{ outputs: [], deadLetters: [] }]);
    expect(eventsOf(r.events, 'records.counted')).toEqual([
      { type: 'records.counted', topic: TOPICS.messages, eventType: 'message.sent', outcome: 'applied', count: 3 },
    ]);
  });

  it('judges a stranger’s message after the messages barrier, as joining its chat', async () => {
    const inner = new MemoryStore();
    await seed(inner, [reg('k1', 'child'), reg('x', 'adult'), created('a', ['k1'])]);
    const judgedWith: string[] = [];
    const r = recordingContext(inner, NOW, {
      frontierReach: async (ask, stamps) => {
        judgedWith.push(ask.facts);
        return stamps.length;
      },
    });
    const batch = fakeBatch(TOPICS.messages, [message('a', 'x', 1), message('a', 'k1', 2)], r.effects);
    await handleBatch(r.ctx, batch.payload);
    expect(judgedWith).toEqual(['membership', 'inputs']);
    expect(r.published[0]!.outputs.map((o) => o.kind)).toEqual(['alert', 'freeze']);
    expect(eventsOf(r.events, 'records.counted').map((c) => [c.outcome, c.count])).toEqual([
      ['applied', 1],
      ['violation', 1],
    ]);
  });

  it('judges members’ messages before a stranger’s that waits for every input topic, and marks judged only the stranger’s', async () => {
    const inner = new MemoryStore();
    await seed(inner, [reg('k1', 'child'), reg('x', 'adult'), created('a', ['k1'])]);
    const store = spyStore(inner, async (method, args, call) => {
      if (method === 'markJudged') judgedMarks.push(args[0] as number);
      return call();
    });
    const judgedMarks: number[] = [];
    const waits: Array<[string, number]> = [];
    const r = recordingContext(store, NOW, {
      // Inputs: the frontier is past nothing until waited for, then past everything.
      frontierReach: async (ask, stamps) => (ask.facts === 'inputs' && waits.length === 0 ? 0 : stamps.length),
      frontier: async (ask) => {
        waits.push([ask.facts, ask.through[3]]);
        return { passed: true, waitedMs: 0 };
      },
    });
    const batch = fakeBatch(
      TOPICS.messages,
      [message('a', 'k1', 1), message('a', 'k1', 2), message('a', 'x', 3), message('a', 'k1', 4)],
      r.effects,
    );
    await handleBatch(r.ctx, batch.payload);
    // One wait, through the stranger's record (offset 102), not the members' before it.
    expect(waits).toEqual([['inputs', 102]]);
    expect(judgedMarks).toEqual([T0 + 3_000]);
    expect(r.published.flatMap((p) => p.outputs).map((o) => o.kind)).toEqual(['alert', 'freeze']);
    expect(r.done.map((d) => d.next)).toEqual(['104']);
  });

  it('writes nothing when the state in Redis is gone, before the first chunk or after a reconnect', async () => {
    // Gone from the start.
    const lost = spyStore(new MemoryStore(), async (method, _args, call) =>
      method === 'stateIntact' ? false : call(),
    );
    const r = recordingContext(lost, NOW);
    await handleBatch(r.ctx, fakeBatch(TOPICS.approvals, [reg('a', 'adult')], r.effects).payload);
    expect([r.stateLost, r.effects]).toEqual([1, []]);

    // Intact at the start; Redis reconnects during the chunk and comes back empty.
    let epoch = 0;
    let checks = 0;
    const emptied = spyStore(new MemoryStore(), async (method, _args, call) => {
      if (method === 'chatsOf') epoch++;
      if (method === 'stateIntact') return ++checks === 1;
      return call();
    });
    const r2 = recordingContext(emptied, NOW, { redisEpoch: () => epoch });
    await handleBatch(r2.ctx, fakeBatch(TOPICS.approvals, [reg('a', 'adult')], r2.effects).payload);
    expect([checks, r2.stateLost, r2.effects]).toEqual([2, 1, [`applied ${TOPICS.approvals} 101`]]);
  });

  it('judges reviewers’ unfreezes and breaker resets from the control topic', async () => {
    const inner = new MemoryStore();
    const breaker = new MemoryFreezeBreaker(1, 3_600_000);
    await seed(inner, [reg('k', 'child'), reg('x', 'adult'), created('a', ['k', 'x'], 1)]);
    const r = recordingContext(inner, NOW, { breaker });
    const batch = fakeBatch(
      TOPICS.control,
      [unfrozen('a', 30), reset(40), { type: 'chat.freeze', chatId: 'a' }],
      r.effects,
    );
    await handleBatch(r.ctx, batch.payload);
    expect(eventsOf(r.events, 'chat.unfrozen')).toEqual([{ type: 'chat.unfrozen', chatId: 'a', by: 'rev' }]);
    expect(eventsOf(r.events, 'breaker.reset')).toEqual([
      { type: 'breaker.reset', by: 'oncall', withheld: 0, applied: 0 },
    ]);
    expect(eventsOf(r.events, 'records.counted').map((c) => [c.eventType, c.outcome, c.count])).toEqual([
      ['other', 'ignored', 1],
      ['chat.unfrozen', 'applied', 1],
      ['freeze-breaker.reset', 'applied', 1],
    ]);
    // Control records are not waited for: nothing marked applied.
    expect(r.effects).toEqual(['publish', 'resolve 102', 'done 103', 'heartbeat']);
  });
});

describe('handleFilteredBatch', () => {
  it('marks a fetch of transaction markers done, and applied (every input topic is waited for)', async () => {
    const store = new MemoryStore();
    const r = recordingContext(store, NOW);
    await handleFilteredBatch(r.ctx, TOPICS.approvals, 1, '41');
    await handleFilteredBatch(r.ctx, TOPICS.messages, 1, '7');
    expect(r.effects).toEqual([`applied ${TOPICS.approvals} 42`, 'done 42', `applied ${TOPICS.messages} 8`, 'done 8']);
    expect(await store.appliedOffsets(TOPICS.approvals)).toEqual(new Map([[1, 42n]]));
  });
});
