/**
 * The audit over a generated history of 200,000 events, laid out in partitions as Kafka would hold
 * it and merged back by time, finds exactly the chats of the answer file, with the same episodes.
 */
import { describe, expect, it } from 'vitest';
import { auditRecords } from '../../src/audit/audit.js';
import type { AuditedChat } from '../../src/audit/episodes.js';
import { historyOrder } from '../../src/history/history-record.js';
import { MemoryHistory } from '../../src/history/memory-history.js';
import { mergeOrdered } from '../../src/history/merge.js';
import type { AnswerChat } from '../../src/synthetic/answers.js';
import { SyntheticPlatform } from '../../src/synthetic/platform.js';

const limits = { maxValueBytes: 262_144, maxMembers: 1000 };

/** The comparable part of an audited chat and of an answer. */
const fromAudit = (c: AuditedChat) => ({
  chatId: c.chatId,
  pairs: c.pairs.map((p) => ({
    pair: p.pair,
    episodes: p.episodes.map((e) => ({
      start: e.start,
      end: e.end,
      durationMs: e.durationMs,
      openedBy: e.opened.eventId,
      closedBy: e.closed?.eventId ?? null,
    })),
  })),
  firstOffendingEventId: c.firstOffending.eventId,
  lastOffendingEventId: c.lastOffending.eventId,
  violationMs: c.violationMs,
  ongoing: c.ongoing,
});
const fromAnswer = ({ causes: _c, ...a }: AnswerChat) => a;

describe('audit over a generated history', () => {
  it('finds exactly the chats of the answer file, with their durations, in 200,000 events', async () => {
    const platform = new SyntheticPlatform({ seed: 42, events: 200_000 });
    const history = new MemoryHistory(
      {
        approvals: 'kids.approvals',
        membership: 'kids.membership',
        messages: 'kids.messages',
        control: 'kids.chat-control',
      },
      3,
    );
    for (const e of platform.events()) history.addEvent(e);
    const answers = platform.answers();
    expect(history.size).toBe(200_000);
    expect(answers.chats.length).toBeGreaterThan(100);
    for (const kind of Object.keys(answers.injected) as Array<keyof typeof answers.injected>)
      expect(answers.injected[kind]).toBeGreaterThan(10);

    const started = performance.now();
    const report = await auditRecords(mergeOrdered(history.streams(limits), historyOrder));
    const seconds = (performance.now() - started) / 1000;

    expect(report.summary).toMatchObject({
      records: 200_000,
      events: 200_000,
      malformed: {},
      outOfOrder: 0,
      lastEventAt: answers.lastEventAt,
      chats: answers.chats.length,
    });
    const found = report.chats.map(fromAudit).sort((a, b) => (a.chatId < b.chatId ? -1 : 1));
    expect(found.map((c) => c.chatId)).toEqual(answers.chats.map((c) => c.chatId));
    expect(found).toEqual(answers.chats.map(fromAnswer));
    expect(seconds).toBeLessThan(30);
  }, 60_000);
});
