/**
 * Start-up after Redis lost the state (monitor/state-guard.ts): the outputs already written are
 * learned before the groups are rewound and before the state marker is written again, so a
 * start-up that dies anywhere on the way does it all again; and the health pass's follow-up
 * (monitor/health-pass.ts), which drops the learned record once every group has passed its bound.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_TOPICS } from '../../src/config.js';
import { learnedRecordCheck } from '../../src/monitor/health-pass.js';
import type { EnsureStateDeps } from '../../src/monitor/state-guard.js';
import { ensureState } from '../../src/monitor/state-guard.js';
import { createLogger } from '../../src/observability/logger.js';
import { LearnedGate } from '../../src/state/learned-gate.js';
import type { LearningBound } from '../../src/state/learned.js';
import { MemoryStore } from '../../src/state/memory-store.js';
import type { StateStore } from '../../src/state/store.js';
import { spyStore } from '../support/fake-batch.js';

const config = { groupId: 'pg', topics: { ...DEFAULT_TOPICS } };
const logger = createLogger('silent');
const T = 1_700_000_000_000;

/** An admin over one partition per topic, `end` records each, its groups' commits kept as they are set. */
function fakeAdmin(opts: { committed: string; busy?: boolean; end?: string }) {
  const effects: string[] = [];
  const commits = new Map<string, string>();
  const admin: EnsureStateDeps['admin'] = {
    fetchOffsets: (async ({ groupId, topics }: { groupId: string; topics: string[] }) =>
      topics.map((topic) => ({
        topic,
        partitions: [{ partition: 0, offset: commits.get(`${groupId} ${topic}`) ?? opts.committed, metadata: null }],
      }))) as unknown as EnsureStateDeps['admin']['fetchOffsets'],
    describeGroups: async (ids: string[]) => {
      effects.push('describe groups');
      return {
        groups: ids.map((groupId) => ({
          groupId,
          state: opts.busy ? 'Stable' : 'Empty',
          members: [],
          protocol: '',
          protocolType: 'consumer',
        })),
      } as unknown as Awaited<ReturnType<EnsureStateDeps['admin']['describeGroups']>>;
    },
    fetchTopicOffsets: async () => [{ partition: 0, offset: opts.end ?? '7', high: opts.end ?? '7', low: '2' }],
    setOffsets: async ({ groupId, topic, partitions }) => {
      effects.push(`rewind ${groupId} ${topic} to ${partitions.map((p) => p.offset).join(',')}`);
      for (const p of partitions) commits.set(`${groupId} ${topic}`, p.offset);
    },
  };
  return { admin, effects, commits };
}

/** The in-memory store, its marks and learning recorded in `effects`; `fail` makes a method throw once. */
function watchedStore(effects: string[], fail = new Set<string>()): { inner: MemoryStore; store: StateStore } {
  const inner = new MemoryStore();
  inner.intact = false;
  const store = spyStore(inner, async (method, args, call) => {
    if (['markLearned', 'markStateCreated', 'learnOutputs'].includes(method)) effects.push(method);
    if (fail.delete(method)) throw new Error(`${method} failed`);
    return call();
  });
  return { inner, store };
}

const learnFrom =
  (store: StateStore, effects: string[], fail = { times: 0 }) =>
  async () => {
    effects.push('read outputs');
    await store.learnOutputs([{ kind: 'alert', chatId: 'c', alertId: 'a' }]);
    if (fail.times-- > 0) throw new Error('broker went away');
    return { ends: {}, counts: { alert: 1, freeze: 0, unfreeze: 0 } };
  };

// Each group's topics, to the low watermark (2 here) as a number.
const rewinds = [
  `rewind pg.approvals ${DEFAULT_TOPICS.approvals} to 2`,
  `rewind pg ${DEFAULT_TOPICS.membership} to 2`,
  `rewind pg ${DEFAULT_TOPICS.control} to 2`,
  `rewind pg.messages ${DEFAULT_TOPICS.messages} to 2`,
];

describe('ensureState', () => {
  it('leaves state that is there alone, and makes a new one without reading anything on empty output topics', async () => {
    const { admin, effects } = fakeAdmin({ committed: '-1', end: '2' });
    const { inner, store } = watchedStore(effects);
    inner.intact = true;
    const deps = { store, admin, config, logger, now: () => T, learnWritten: learnFrom(store, effects) };
    expect(await ensureState(deps)).toBe('intact');
    inner.intact = false;
    expect(await ensureState(deps)).toBe('created');
    expect(effects).toEqual(['markStateCreated']);
    expect(await inner.learningBound()).toBeNull();
  });

  it('a first start on topics with outputs already: learns them and writes the bound, then the marker, rewinding nothing', async () => {
    const { admin, effects } = fakeAdmin({ committed: '-1', end: '9' });
    const { inner, store } = watchedStore(effects);
    const deps = { store, admin, config, logger, now: () => T, learnWritten: learnFrom(store, effects) };
    expect(await ensureState(deps)).toBe('created');
    expect(effects).toEqual(['read outputs', 'learnOutputs', 'markLearned', 'markStateCreated']);
    expect((await inner.learningBound())?.groups.map((g) => g.groupId)).toEqual(['pg.approvals', 'pg', 'pg.messages']);
  });

  it('lost with offsets committed: checks the groups are idle, learns the outputs, writes the bound, rewinds, then the marker', async () => {
    const { admin, effects } = fakeAdmin({ committed: '5', end: '9' });
    const { inner, store } = watchedStore(effects);
    const deps = { store, admin, config, logger, now: () => T, learnWritten: learnFrom(store, effects) };
    expect(await ensureState(deps)).toBe('rebuilding');
    expect(effects).toEqual([
      'describe groups',
      'read outputs',
      'learnOutputs',
      'markLearned',
      ...rewinds,
      'markStateCreated',
    ]);
    const bound = await inner.learningBound();
    expect(bound?.learnedAt).toBe(T);
    expect(bound?.groups.map((g) => [g.groupId, g.topics.map((t) => [t.topic, t.ends])])).toEqual([
      ['pg.approvals', [[DEFAULT_TOPICS.approvals, [{ partition: 0, offset: '9' }]]]],
      [
        'pg',
        [
          [DEFAULT_TOPICS.membership, [{ partition: 0, offset: '9' }]],
          [DEFAULT_TOPICS.control, [{ partition: 0, offset: '9' }]],
        ],
      ],
      ['pg.messages', [[DEFAULT_TOPICS.messages, [{ partition: 0, offset: '9' }]]]],
    ]);
    expect(await inner.stateIntact()).toBe(true);
  });

  it('a collection cut short writes neither the bound, nor the rewind, nor the marker: the next start collects again', async () => {
    const { admin, effects } = fakeAdmin({ committed: '5' });
    const { inner, store } = watchedStore(effects);
    const fail = { times: 1 };
    const deps = { store, admin, config, logger, now: () => T, learnWritten: learnFrom(store, effects, fail) };
    await expect(ensureState(deps)).rejects.toMatchObject({
      code: 'STATE_LOST',
      message: expect.stringContaining('broker went away') as string,
    });
    expect(effects).toEqual(['describe groups', 'read outputs', 'learnOutputs']);
    expect([await inner.stateIntact(), await inner.learningBound()]).toEqual([false, null]);
    effects.length = 0;
    expect(await ensureState(deps)).toBe('rebuilding');
    expect(effects).toEqual([
      'describe groups',
      'read outputs',
      'learnOutputs',
      'markLearned',
      ...rewinds,
      'markStateCreated',
    ]);
  });

  it('dying after the rewind, before the marker: the groups sit at the earliest offsets, so the next start learns again', async () => {
    const { admin, effects, commits } = fakeAdmin({ committed: '5' });
    const { inner, store } = watchedStore(effects, new Set(['markStateCreated']));
    const deps = { store, admin, config, logger, now: () => T, learnWritten: learnFrom(store, effects) };
    await expect(ensureState(deps)).rejects.toThrow('markStateCreated failed');
    expect([...commits.values()]).toEqual(['2', '2', '2', '2']);
    expect(await inner.stateIntact()).toBe(false);
    effects.length = 0;
    expect(await ensureState(deps)).toBe('rebuilding');
    expect(effects).toContain('read outputs');
    expect(await inner.stateIntact()).toBe(true);
  });

  it('an instance still in the groups stops start-up before anything is read', async () => {
    const { admin, effects } = fakeAdmin({ committed: '5', busy: true });
    const { store } = watchedStore(effects);
    const deps = { store, admin, config, logger, now: () => T, learnWritten: learnFrom(store, effects) };
    await expect(ensureState(deps)).rejects.toMatchObject({
      code: 'STATE_LOST',
      message: expect.stringContaining('stop every instance') as string,
    });
    expect(effects).toEqual(['describe groups']);
  });
});

describe('learnedRecordCheck', () => {
  const bound: LearningBound = {
    learnedAt: T,
    groups: [
      { groupId: 'pg', topics: [{ topic: 'm', ends: [{ partition: 0, offset: '10' }] }] },
      { groupId: 'pg.messages', topics: [{ topic: 'x', ends: [{ partition: 0, offset: '4' }] }] },
    ],
  };
  const adminAt = (committed: Record<string, string>) => ({
    fetchOffsets: (async ({ groupId, topics }: { groupId: string; topics: string[] }) =>
      topics.map((topic) => ({
        topic,
        partitions: [{ partition: 0, offset: committed[groupId] ?? '-1', metadata: null }],
      }))) as unknown as EnsureStateDeps['admin']['fetchOffsets'],
  });

  it('follows the bound while the groups are behind it, and drops the record once every group has passed it', async () => {
    const store = new MemoryStore();
    await store.learnOutputs([{ kind: 'alert', chatId: 'c', alertId: 'a' }]);
    await store.markLearned(bound);
    const gate = new LearnedGate(store);
    const committed: Record<string, string> = { pg: '10', 'pg.messages': '3' };
    const check = learnedRecordCheck({ store, admin: adminAt(committed), gate, logger });
    await check();
    expect(gate.active).toBe(true);
    expect(await store.alreadyWritten([{ kind: 'alert', chatId: 'c', alertId: 'a' }])).toEqual([true]);
    committed['pg.messages'] = '4';
    await check();
    expect(gate.active).toBe(false);
    expect(await store.learningBound()).toBeNull();
    expect(await store.alreadyWritten([{ kind: 'alert', chatId: 'c', alertId: 'a' }])).toEqual([false]);
  });

  it('an instance that did not lead the rebuild follows the record in Redis, and lets go of it once another dropped it', async () => {
    const store = new MemoryStore();
    const gate = new LearnedGate(store);
    const check = learnedRecordCheck({ store, admin: adminAt({}), gate, logger });
    await check();
    expect(gate.active).toBe(false);
    await store.markLearned(bound);
    await check();
    expect(gate.active).toBe(true);
    await store.forgetLearned();
    await check();
    expect(gate.active).toBe(false);
  });

  it('never throws: a failed look leaves the gate as it was', async () => {
    const store = new MemoryStore();
    await store.markLearned(bound);
    const gate = new LearnedGate(store);
    gate.follow(bound);
    const admin = { fetchOffsets: async () => Promise.reject(new Error('kafka down')) };
    await learnedRecordCheck({ store, admin: admin as never, gate, logger })();
    expect(gate.active).toBe(true);
    expect(await store.learningBound()).toEqual(bound);
  });
});
