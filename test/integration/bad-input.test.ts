/** Hand-picked bad and awkward input on the real broker: dead-lettered with reasons, nothing stalls. */
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertRecord, DeadLetter, FreezeCommand } from '../../src/actions/records.js';
import type { TestEnv } from '../support/harness.js';
import { createTestEnv, kafka, readTopic, waitUntilConsumed } from '../support/harness.js';

let env: TestEnv;
afterEach(async () => env?.cleanup());

const T = (s: number) => new Date(Date.parse('2026-11-21T10:00:00Z') + s * 1000).toISOString();
const json = (v: unknown) => JSON.stringify(v);

describe('bad and awkward input', () => {
  it('dead-letters each bad record with its reason, and judges duplicates, reordering and odd keys correctly', async () => {
    env = await createTestEnv();
    const m = env.config.topics.membership;
    const created = { type: 'chat.created', eventId: 'dup-1', occurredAt: T(1), chatId: 'dup-chat', createdBy: 'p', members: ['p', 'q'] };
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: m,
      messages: [
        { key: 'huge', value: json({ type: 'chat.created', eventId: 'h1', occurredAt: T(1), chatId: 'huge', createdBy: 'u0', members: Array.from({ length: 2000 }, (_, i) => `u${i}`) }) },
        { key: 'big', value: json({ type: 'member.added', eventId: 'b1', occurredAt: T(1), chatId: 'big', userId: 'x', pad: 'y'.repeat(300 * 1024) }) },
        { key: 'long-id', value: json({ type: 'member.added', eventId: 'l1', occurredAt: T(1), chatId: 'c'.repeat(1000), userId: 'x' }) },
        { key: 'tombstone', value: null },
        { key: 'nulls', value: json({ type: null, eventId: null }) },
        { key: 'nulls', value: json({ type: 'member.added', eventId: 'n1', occurredAt: T(1), chatId: 'c', userId: null }) },
        // The same event twice: one alert.
        { key: 'dup-chat', value: json(created) },
        { key: 'dup-chat', value: json(created) },
        // __proto__ and constructor keys beside valid fields: judged like any event.
        { key: 'proto-chat', value: `{"type":"chat.created","eventId":"p1","occurredAt":"${T(1)}","chatId":"proto-chat","createdBy":"r","members":["r","s"],"__proto__":{"isAdmin":true},"constructor":{"prototype":{}}}` },
        // Out of order: the removal (t=10) arrives before the join (t=5). The pair was together
        // from 5 to 10: reported, but not frozen, since it is already over.
        { key: 'late-chat', value: json({ type: 'chat.created', eventId: 'o0', occurredAt: T(1), chatId: 'late-chat', createdBy: 'v', members: ['v'] }) },
        { key: 'late-chat', value: json({ type: 'member.removed', eventId: 'o2', occurredAt: T(10), chatId: 'late-chat', userId: 'w' }) },
        { key: 'late-chat', value: json({ type: 'member.added', eventId: 'o1', occurredAt: T(5), chatId: 'late-chat', userId: 'w' }) },
      ],
      acks: -1,
    });
    const monitor = await env.startMonitor();
    await waitUntilConsumed(env);
    // Still alive and judging after all that.
    await producer.send({ topic: m, messages: [{ key: 'after', value: json({ type: 'chat.created', eventId: 'a1', occurredAt: T(20), chatId: 'after', createdBy: 'y', members: ['y', 'z'] }) }], acks: -1 });
    await producer.disconnect();
    await waitUntilConsumed(env);

    const dead = await readTopic<DeadLetter>(env.admin, env.config.topics.deadLetter);
    expect(dead.map((d) => [d.key, d.value.error.split(':')[0]]).sort()).toEqual([
      ['big', 'too-large'],
      ['huge', 'too-many-members'],
      ['long-id', 'invalid-fields'],
      ['nulls', 'invalid-fields'],
      ['nulls', 'unknown-type'],
      ['tombstone', 'empty-value'],
    ]);
    const alerts = await readTopic<AlertRecord>(env.admin, env.config.topics.alerts);
    expect(alerts.map((a) => [a.value.chatId, a.value.pair, a.value.action]).sort()).toEqual([
      ['after', ['y', 'z'], 'frozen'],
      ['dup-chat', ['p', 'q'], 'frozen'],
      ['late-chat', ['v', 'w'], 'alert-only'],
      ['proto-chat', ['r', 's'], 'frozen'],
    ]);
    const freezes = (await readTopic<FreezeCommand>(env.admin, env.config.topics.control)).filter((r) => r.value.type === 'chat.freeze');
    expect(freezes.map((f) => f.value.chatId).sort()).toEqual(['after', 'dup-chat', 'proto-chat']);
    const metrics = await (await fetch(`http://127.0.0.1:${monitor.httpPort}/metrics`)).text();
    const deadLetters = [...metrics.matchAll(/^pairguard_dead_letters_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    expect(deadLetters).toBe(6);
  });
});
