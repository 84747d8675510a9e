/**
 * Contract §3, "after which a new violation freezes it again", when the reviewer's unfreeze is
 * consumed after the newer violation was judged (the control partition lagged). Found by the
 * scale-out work; see PARTITIONING.md.
 */
import { afterEach, expect, it } from 'vitest';
import type { FreezeCommand } from '../../src/actions/records.js';
import type { TestEnv } from '../support/harness.js';
import { createTestEnv, kafka, readTopic, waitUntilConsumed } from '../support/harness.js';

let env: TestEnv | undefined;
afterEach(async () => {
  await env?.cleanup();
  env = undefined;
});

it('a violation after a reviewer unfreezes freezes the chat again, even when the unfreeze is consumed after it', async () => {
  const e = (env = await createTestEnv());
  const base = Date.now() - 60_000;
  const at = (s: number) => new Date(base + s * 1000).toISOString();
  const json = JSON.stringify;
  const t = e.config.topics;
  await e.startMonitor();
  const producer = kafka.producer();
  await producer.connect();
  try {
    // t=1: x and y, never approved: frozen.
    await producer.send({
      topic: t.membership,
      messages: [
        {
          key: 'c',
          value: json({
            type: 'chat.created',
            eventId: 'g1',
            occurredAt: at(1),
            chatId: 'c',
            createdBy: 'x',
            members: ['x', 'y'],
          }),
        },
      ],
      acks: -1,
    });
    await waitUntilConsumed(e);
    // t=2: y leaves; t=3: a reviewer unfreezes; t=4: z, never approved, joins. The control
    // partition lags (say its owner died), so the unfreeze is consumed last.
    await producer.send({
      topic: t.membership,
      messages: [
        {
          key: 'c',
          value: json({ type: 'member.removed', eventId: 'g2', occurredAt: at(2), chatId: 'c', userId: 'y' }),
        },
        { key: 'c', value: json({ type: 'member.added', eventId: 'g4', occurredAt: at(4), chatId: 'c', userId: 'z' }) },
      ],
      acks: -1,
    });
    await waitUntilConsumed(e);
    await producer.send({
      topic: t.control,
      messages: [{ key: 'c', value: json({ type: 'chat.unfrozen', chatId: 'c', by: 'reviewer', occurredAt: at(3) }) }],
      acks: -1,
    });
    await waitUntilConsumed(e);
  } finally {
    await producer.disconnect();
  }
  const freezes = (await readTopic<FreezeCommand>(e.admin, t.control)).filter((r) => r.value.type === 'chat.freeze');
  // One freeze for x–y, and one for the x–z violation that followed the unfreeze.
  expect(new Set(freezes.map((f) => f.value.alertId)).size).toBe(2);
});
