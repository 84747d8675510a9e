/** Judging a chunk of membership records through prepareChunk gives what judging them one by one gives. */
import { eventStamp } from '../../src/events/event-time.js';
import { describe, expect, it } from 'vitest';
import type { InputEvent } from '../../src/events/schema.js';
import { prepareChunk } from '../../src/judge/chunk.js';
import type { JudgeDeps, Output } from '../../src/judge/judge.js';
import { judgeEvent } from '../../src/judge/judge.js';
import { MemoryStore } from '../../src/state/memory-store.js';
import { T0, added, created, removed } from '../support/events.js';

/** Two friends (A, B), an adult stranger C, and a child D whom only A approved. */
async function world(): Promise<JudgeDeps<MemoryStore>> {
  const store = new MemoryStore();
  await store.applyRegistration('C', 'adult', T0);
  for (const [child, contact] of [
    ['A', 'B'],
    ['B', 'A'],
    ['A', 'D'],
  ] as const)
    await store.applyApproval(child, contact, true, T0);
  return { store, mode: 'enforce', now: () => T0 + 3_600_000 };
}

const trigger = (event: InputEvent, offset: number) => ({
  event,
  at: Date.parse(event.occurredAt),
  ref: { eventId: event.eventId, type: event.type, topic: 'm', partition: 0, offset },
});

describe('a prepared chunk', () => {
  // No record ends an earlier one's violation: the confirming re-read sees the whole chunk written.
  const chunk = [
    created('g', ['A', 'B'], 1),
    created('h', ['A', 'B'], 1),
    added('g', 'C', 2),
    added('h', 'D', 3),
    removed('h', 'C', 4),
    added('h', 'C', 5),
  ];

  it('judges its records, in order, exactly as one by one, and leaves the same state', async () => {
    const alone = await world();
    const together = await world();
    const oneByOne: Output[] = [];
    for (const [i, e] of chunk.entries()) oneByOne.push(...(await judgeEvent(alone, trigger(e, i))).outputs);
    const view = await prepareChunk(
      together.store,
      chunk.map((event, i) => ({ event, at: eventStamp(event.type, Date.parse(event.occurredAt), 0, i) })),
    );
    const prepared: Output[] = [];
    for (const [i, e] of chunk.entries())
      prepared.push(...(await judgeEvent(together, trigger(e, i), { view })).outputs);
    expect(prepared).toEqual(oneByOne);
    // g: C meets A and B, frozen; h: D meets A and B, frozen; C's leave changes nothing, its join alerts thrice.
    expect(oneByOne.map((o) => `${o.kind} ${o.chatId}`)).toEqual([
      ...['alert g', 'alert g', 'freeze g'],
      ...['alert h', 'alert h', 'freeze h'],
      ...['alert h', 'alert h', 'alert h'],
    ]);
    for (const chatId of ['g', 'h'])
      expect(await together.store.readChat(chatId)).toEqual(await alone.store.readChat(chatId));
    expect(together.store.decisions).toEqual(alone.store.decisions);
  });

  it('refuses a record judged out of the order in which the chunk wrote it', async () => {
    const deps = await world();
    const view = await prepareChunk(
      deps.store,
      chunk.map((event, i) => ({ event, at: eventStamp(event.type, Date.parse(event.occurredAt), 0, i) })),
    );
    await expect(judgeEvent(deps, trigger(chunk[2]!, 2), { view })).rejects.toThrow(/out of the order/);
  });
});
