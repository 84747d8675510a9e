/**
 * Judging history again after Redis lost its state, with what was written learned back from the
 * output topics (state/learned.ts): the judge and the real publisher on the in-memory store and a
 * fake producer that keeps the topics. Each history is judged live first (writing the topics),
 * then the state is thrown away, the topics are learned, and the history is judged again in the
 * orders the membership consumer may read the membership and control topics in.
 */
import type { Producer } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { ChatUnfrozen, InputEvent } from '../../src/events/schema.js';
import type { JudgeDeps, Output } from '../../src/judge/judge.js';
import { judgeEvent, judgeUnfreeze } from '../../src/judge/judge.js';
import type { LearningBound } from '../../src/state/learned.js';
import { LearnedGate } from '../../src/state/learned-gate.js';
import { MemoryFreezeBreaker } from '../../src/state/memory-breaker.js';
import { MemoryStore } from '../../src/state/memory-store.js';
import { Publisher } from '../../src/stream/publisher.js';
import { classifyBatch } from '../../src/stream/written-outputs.js';
import { TOPICS } from '../support/fake-batch.js';

const T0 = Date.parse('2026-11-21T10:00:00.000Z');
const NOW = T0 + 3_600_000;
const iso = (s: number) => new Date(T0 + s * 1000).toISOString();
let seq = 0;
const reg = (userId: string, s = 0) =>
  ({ type: 'user.registered', eventId: `e${++seq}`, occurredAt: iso(s), userId, role: 'child' }) as const;
const created = (chatId: string, members: string[], s: number) =>
  ({
    type: 'chat.created',
    eventId: `e${++seq}`,
    occurredAt: iso(s),
    chatId,
    createdBy: members[0]!,
    members,
  }) as const;
const added = (chatId: string, userId: string, s: number) =>
  ({ type: 'member.added', eventId: `e${++seq}`, occurredAt: iso(s), chatId, userId }) as const;
const removed = (chatId: string, userId: string, s: number) =>
  ({ type: 'member.removed', eventId: `e${++seq}`, occurredAt: iso(s), chatId, userId }) as const;
const unfrozen = (chatId: string, s: number): ChatUnfrozen => ({
  type: 'chat.unfrozen',
  chatId,
  by: 'reviewer',
  occurredAt: iso(s),
});

/** Partition 0 of each topic, as the broker keeps it. */
type Topic = Array<{ key: string | null; value: Buffer }>;

/** A fake producer appending to `topics` (one partition each); the reviewers' tool writes there too. */
function fakeKafka() {
  const topics = new Map<string, Topic>();
  const log = (topic: string) => topics.get(topic) ?? topics.set(topic, []).get(topic)!;
  const producer = {
    sendBatch: async ({
      topicMessages,
    }: {
      topicMessages: Array<{ topic: string; messages: Array<{ key: string | null; value: string }> }>;
    }) => {
      for (const t of topicMessages)
        log(t.topic).push(...t.messages.map((m) => ({ key: m.key, value: Buffer.from(String(m.value)) })));
      return [];
    },
  } as unknown as Producer;
  const records = (topic: string) => log(topic).map((m) => JSON.parse(m.value.toString()) as Record<string, unknown>);
  return { topics, log, producer, records };
}

/** One input record, or a reviewer's unfreeze on the control topic. */
type Step = { input: InputEvent } | { unfreeze: ChatUnfrozen };

/** A monitor over `store`: judges steps as the stream does, publishing each one's outputs. */
function monitor(store: MemoryStore, kafka: ReturnType<typeof fakeKafka>, learned?: LearnedGate) {
  const breaker = new MemoryFreezeBreaker(100, 60_000);
  const deps: JudgeDeps = { store, mode: 'enforce', now: () => NOW, breaker, learned };
  const publisher = new Publisher(kafka.producer, store, TOPICS, undefined, learned);
  const offsets = new Map<string, number>();
  const judge = async (step: Step) => {
    let outputs: Output[];
    if ('unfreeze' in step) {
      outputs = (await judgeUnfreeze(deps, step.unfreeze, Date.parse(step.unfreeze.occurredAt))).outputs;
    } else {
      const e = step.input;
      const topic = e.type === 'user.registered' ? TOPICS.approvals : TOPICS.membership;
      const at = offsets.get(topic) ?? 0;
      offsets.set(topic, at + 1);
      const ref = { eventId: e.eventId, type: e.type, topic, partition: 0, offset: at };
      outputs = (await judgeEvent(deps, { event: e, at: Date.parse(e.occurredAt), ref })).outputs;
    }
    await publisher.publish(outputs, []);
  };
  return { breaker, judge, offsets };
}

/** Judges `steps` live; a reviewer's unfreeze is written to the control topic when its turn comes. */
async function live(steps: readonly Step[]) {
  const kafka = fakeKafka();
  const m = monitor(new MemoryStore(), kafka);
  for (const s of steps) {
    if ('unfreeze' in s)
      kafka.log(TOPICS.control).push({ key: s.unfreeze.chatId, value: Buffer.from(JSON.stringify(s.unfreeze)) });
    await m.judge(s);
  }
  // The input topics' ends when Redis lost the state: what a rebuild replays.
  return { ...kafka, inputEnds: m.offsets };
}

/** Redis lost everything: a new store learns the topics, and the history is judged again in `order`. */
async function rebuild(kafka: Awaited<ReturnType<typeof live>>, order: readonly Step[], learn = true) {
  const store = new MemoryStore();
  const gate = new LearnedGate(store);
  const opts = {
    topics: { alerts: TOPICS.alerts, control: TOPICS.control },
    limits: { maxValueBytes: 1 << 20, maxMembers: 100 },
    maxSkewMs: 300_000,
  };
  const written = { alerts: kafka.log(TOPICS.alerts).length, control: kafka.log(TOPICS.control).length };
  if (learn) {
    for (const topic of [TOPICS.alerts, TOPICS.control]) {
      const messages = kafka.log(topic).map((m, i) => ({
        key: m.key === null ? null : Buffer.from(m.key),
        value: m.value,
        timestamp: String(NOW),
        attributes: 0,
        offset: String(i),
        size: 0,
      }));
      await store.learnOutputs(classifyBatch(opts, { topic, partition: 0, messages }, BigInt(messages.length)));
    }
    const ends = (topic: string, n = kafka.inputEnds.get(topic) ?? 0) => ({
      topic,
      ends: [{ partition: 0, offset: String(n) }],
    });
    const bound: LearningBound = {
      learnedAt: NOW,
      groups: [
        { groupId: 'g', topics: [ends(TOPICS.membership), ends(TOPICS.control, written.control)] },
        { groupId: 'g.approvals', topics: [ends(TOPICS.approvals)] },
      ],
    };
    await store.markLearned(bound);
    gate.follow(bound);
  }
  const m = monitor(store, kafka, gate);
  for (const s of order) await m.judge(s);
  return {
    store,
    breaker: m.breaker,
    newAlerts: kafka.records(TOPICS.alerts).slice(written.alerts),
    newControl: kafka.records(TOPICS.control).slice(written.control),
  };
}

/** The orders a rebuild may judge in: membership before the control topic, or after it. */
function orders(steps: readonly Step[]): Array<[string, Step[]]> {
  const inputs = steps.filter((s) => 'input' in s);
  const control = steps.filter((s) => 'unfreeze' in s);
  return [
    ['membership first', [...inputs, ...control]],
    ['control first', [...control, ...inputs]],
  ];
}

const freezes = (records: Array<Record<string, unknown>>) => records.filter((r) => r.type === 'chat.freeze');

describe('a rebuild that learned what was written', () => {
  // x and y never approved each other: frozen at t=1; a reviewer unfreezes at t=3.
  const reviewed = (): Step[] => [
    { input: reg('x') },
    { input: reg('y') },
    { input: created('c', ['x', 'y'], 1) },
    { unfreeze: unfrozen('c', 3) },
  ];

  it('without the learned record, writes the alert and a second freeze for the chat the reviewer cleared', async () => {
    const kafka = await live(reviewed());
    expect(freezes(kafka.records(TOPICS.control))).toHaveLength(1);
    const [, order] = orders(reviewed())[1]!;
    const r = await rebuild(kafka, order, false);
    expect(r.newAlerts).toHaveLength(1);
    expect(freezes(r.newControl)).toHaveLength(1);
    expect((await r.store.readChat('c')).frozen).not.toBeNull();
  });

  for (const [name] of orders([]))
    it(`${name}: writes nothing again, and leaves the chat a reviewer cleared unfrozen with its alert marked sent`, async () => {
      const steps = reviewed();
      const kafka = await live(steps);
      const order = orders(steps).find(([n]) => n === name)![1];
      const r = await rebuild(kafka, order);
      expect(r.newAlerts).toEqual([]);
      expect(r.newControl).toEqual([]);
      const chat = await r.store.readChat('c');
      expect(chat.frozen).toBeNull();
      expect([...chat.episodes.values()].map((e) => e.record.sent)).toEqual([true]);
      expect(r.breaker.frozen.size).toBe(0);
    });

  it('records a freeze still in force as sent, spending no freeze budget, and writes it not again', async () => {
    const steps: Step[] = [{ input: reg('p') }, { input: reg('q') }, { input: created('d', ['p', 'q'], 1) }];
    const kafka = await live(steps);
    const r = await rebuild(kafka, steps);
    expect([r.newAlerts, r.newControl]).toEqual([[], []]);
    const frozen = (await r.store.readChat('d')).frozen!;
    expect(frozen.record).toMatchObject({ alertId: freezes(kafka.records(TOPICS.control))[0]!.alertId, sent: true });
    expect(r.breaker.frozen.size).toBe(0);
  });

  for (const [name] of orders([]))
    it(`${name}: a second violation the reviewer's unfreeze covered is not frozen for either`, async () => {
      // z, a stranger, joins while the chat is frozen (an alert, no freeze); the reviewer unfreezes after.
      const steps: Step[] = [
        { input: reg('x') },
        { input: reg('y') },
        { input: reg('z') },
        { input: created('e', ['x', 'y'], 1) },
        { input: added('e', 'z', 2) },
        { unfreeze: unfrozen('e', 3) },
      ];
      const kafka = await live(steps);
      expect([kafka.records(TOPICS.alerts).length, freezes(kafka.records(TOPICS.control)).length]).toEqual([3, 1]);
      const r = await rebuild(kafka, orders(steps).find(([n]) => n === name)![1]);
      expect([r.newAlerts, r.newControl]).toEqual([[], []]);
      expect((await r.store.readChat('e')).frozen).toBeNull();
    });

  for (const [name] of orders([]))
    it(`${name}: an unfreeze consumed late, and the freeze written for the newer violation, end as they did live`, async () => {
      // late-unfreeze.test.ts's history: frozen at 1, y leaves at 2, z joins at 4, the unfreeze (3) read last.
      const steps: Step[] = [
        { input: reg('x') },
        { input: reg('y') },
        { input: reg('z') },
        { input: created('f', ['x', 'y'], 1) },
        { input: removed('f', 'y', 2) },
        { input: added('f', 'z', 4) },
        { unfreeze: unfrozen('f', 3) },
      ];
      const kafka = await live(steps);
      const written = freezes(kafka.records(TOPICS.control));
      expect(written).toHaveLength(2);
      const r = await rebuild(kafka, orders(steps).find(([n]) => n === name)![1]);
      expect([r.newAlerts, r.newControl]).toEqual([[], []]);
      expect((await r.store.readChat('f')).frozen?.record).toMatchObject({ alertId: written[1]!.alertId, sent: true });
    });

  it('judges a violation that arrived after the rewind as ever: written, within the budget', async () => {
    const steps = reviewed();
    const kafka = await live(steps);
    const fresh: Step[] = [{ input: reg('v') }, { input: created('g', ['x', 'v'], 2) }];
    const r = await rebuild(kafka, [...steps, ...fresh]);
    expect(r.newAlerts.map((a) => a.chatId)).toEqual(['g']);
    expect(freezes(r.newControl).map((f) => f.chatId)).toEqual(['g']);
    expect([...r.breaker.frozen.keys()]).toEqual(['g']);
  });
});
