/**
 * The audit and export on a real broker: a generated history replayed into fresh topics audits to
 * its answer file; export → replay into other topics → audit gives the same chats and episodes,
 * and no message text ever reaches the export.
 */
import { readFileSync, rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { auditTopics } from '../../src/audit/audit.js';
import type { AuditReport } from '../../src/audit/episodes.js';
import { exportTopics } from '../../src/cli/export.js';
import { replayFile, replayLines } from '../../src/cli/replay.js';
import { SyntheticPlatform } from '../../src/synthetic/platform.js';
import type { TestEnv } from '../support/harness.js';
import { createTestEnv, kafka } from '../support/harness.js';

const limits = { maxValueBytes: 262_144, maxMembers: 1000 };
const SENTINEL = 'SENTINEL-TEXT-7f3a';
const envs: TestEnv[] = [];
afterEach(async () => {
  await Promise.all(envs.splice(0).map((e) => e.cleanup()));
});

async function env() {
  const e = await createTestEnv();
  envs.push(e);
  return e;
}

/** What must survive a round trip: everything but where the records sit. */
function essence(r: AuditReport) {
  const ref = (e: { eventId: string; type: string; occurredAt: string } | null) =>
    e ? [e.eventId, e.type, e.occurredAt] : null;
  return r.chats.map((c) => ({
    chatId: c.chatId,
    pairs: c.pairs.map((p) => [
      p.pair,
      p.episodes.map((e) => [e.start, e.end, e.durationMs, e.missing, ref(e.opened), ref(e.closed)]),
    ]),
    first: ref(c.firstOffending),
    last: ref(c.lastOffending),
    violationMs: c.violationMs,
    ongoing: c.ongoing,
    frozen: c.frozen,
  }));
}

describe('pairguard audit and export on a real broker', () => {
  it('audits a generated history to its answer file; export → replay → audit round-trips without text', async () => {
    const platform = new SyntheticPlatform({
      seed: 77,
      events: 6_000,
      rates: { 'group-flaw': 15, 'revocation-in-chat': 15, 'unknown-user': 15, 'non-member-message': 15 },
    });
    const lines = [...platform.events()].map((e) => JSON.stringify(e));
    const answers = platform.answers();
    const flagged = answers.chats.map((c) => c.chatId);
    expect(flagged.length).toBeGreaterThan(10);
    // A freeze pairguard requested for one flagged chat, a reviewer's unfreeze, and bad records that audit skips and export keeps.
    lines.push(
      JSON.stringify({
        $topic: 'control',
        $key: flagged[0],
        $value: JSON.stringify({
          type: 'chat.freeze',
          chatId: flagged[0],
          alertId: 'a1',
          reason: 'unapproved-pairing',
          requestedAt: answers.lastEventAt,
        }),
      }),
      JSON.stringify({
        $topic: 'control',
        $key: flagged[0],
        $value: JSON.stringify({
          type: 'chat.unfrozen',
          chatId: flagged[0],
          by: 'reviewer',
          occurredAt: answers.lastEventAt,
        }),
      }),
      JSON.stringify({ $topic: 'messages', $key: 'chat-1', $value: `{"type":"message.sent","text":"${SENTINEL}` }),
      JSON.stringify({
        $topic: 'messages',
        $key: 'chat-1',
        $value: JSON.stringify({ type: 'message.sent', eventId: 'bad', occurredAt: 'never', text: SENTINEL }),
      }),
      JSON.stringify({
        $topic: 'membership',
        $key: 'x',
        $valueBase64: Buffer.from([0x7b, 0xff, 0xfe]).toString('base64'),
      }),
    );

    const source = await env();
    await replayLines({ kafka, topics: source.config.topics, createPartitions: 0 }, lines);
    const first = await auditTopics({ kafka, topics: source.config.topics, limits });
    expect(first.summary).toMatchObject({
      records: 6_005,
      events: 6_000,
      malformed: { 'invalid-json': 1, 'invalid-fields': 1, 'invalid-utf8': 1 },
      outOfOrder: 0,
      chats: flagged.length,
      frozen: 1,
    });
    expect(first.chats.map((c) => c.chatId).sort()).toEqual(flagged);
    for (const a of answers.chats) {
      const c = first.chats.find((x) => x.chatId === a.chatId)!;
      expect([c.violationMs, c.ongoing, c.firstOffending.eventId, c.lastOffending.eventId]).toEqual([
        a.violationMs,
        a.ongoing,
        a.firstOffendingEventId,
        a.lastOffendingEventId,
      ]);
      expect(c.frozen).toBe(a.chatId === flagged[0]);
    }
    // Every offending event names where it sits on its topic.
    expect(first.chats[0]!.firstOffending).toMatchObject({
      topic: expect.stringMatching(/^t.*\.(approvals|membership|messages)$/),
      partition: expect.any(Number),
      offset: expect.any(Number),
    });

    const file = `/tmp/${source.id}-export.jsonl`;
    const exported = await exportTopics({
      kafka,
      topics: source.config.topics,
      limits,
      out: file,
      control: true,
      progress: false,
    });
    expect(exported).toMatchObject({ records: 6_005, raw: 5 });
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(SENTINEL);
    expect(text).not.toMatch(/"text"|\\"text\\"/);
    expect(text.split('\n').filter(Boolean)).toHaveLength(6_005);
    // Time order: occurredAt never goes back across the export.
    const times = text
      .split('\n')
      .filter((l) => l.startsWith('{"type"'))
      .map((l) => Date.parse((JSON.parse(l) as { occurredAt: string }).occurredAt));
    expect(times.every((t, i) => i === 0 || t >= times[i - 1]!)).toBe(true);

    const copy = await env();
    await replayFile({ kafka, topics: copy.config.topics, file, createPartitions: 0, progress: false });
    const second = await auditTopics({ kafka, topics: copy.config.topics, limits });
    // The unparseable messages-topic record could have been text: it went out without a value.
    expect(second.summary).toMatchObject({
      records: 6_005,
      events: 6_000,
      malformed: { 'empty-value': 1, 'invalid-fields': 1, 'invalid-utf8': 1 },
      chats: flagged.length,
      frozen: 1,
    });
    expect(essence(second)).toEqual(essence(first));
    rmSync(file, { force: true });
  });

  it('reports only the chats of the --since/--until window, reading no further than --until', async () => {
    const e = await env();
    const at = (s: number) => new Date(Date.parse('2026-05-01T00:00:00Z') + s * 1000).toISOString();
    await replayLines(
      { kafka, topics: e.config.topics, createPartitions: 0 },
      [
        {
          type: 'chat.created',
          eventId: 'c1',
          occurredAt: at(0),
          chatId: 'early',
          createdBy: 'a',
          members: ['a', 'b'],
        },
        { type: 'member.removed', eventId: 'c2', occurredAt: at(10), chatId: 'early', userId: 'b' },
        {
          type: 'chat.created',
          eventId: 'c3',
          occurredAt: at(100),
          chatId: 'late',
          createdBy: 'c',
          members: ['c', 'd'],
        },
      ].map((x) => JSON.stringify(x)),
    );
    const audit = (since?: number, until?: number) =>
      auditTopics({
        kafka,
        topics: e.config.topics,
        limits,
        window: {
          since: since === undefined ? undefined : Date.parse(at(since)),
          until: until === undefined ? undefined : Date.parse(at(until)),
        },
      });
    expect((await audit()).chats.map((c) => c.chatId)).toEqual(['early', 'late']);
    expect((await audit(20)).chats.map((c) => c.chatId)).toEqual(['late']);
    const early = await audit(undefined, 50);
    expect(early.chats.map((c) => [c.chatId, c.violationMs])).toEqual([['early', 10_000]]);
    expect(early.summary).toMatchObject({ records: 2, lastEventAt: at(10) });
  });
});
