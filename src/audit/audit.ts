/**
 * `pairguard audit`: reads the input topics (and the control topic, for freezes) from their
 * beginning, merges their partitions into the order things happened, and judges that history
 * with the history judge. It never acts and never touches Redis or the monitor's consumer groups.
 */
import type { Kafka } from 'kafkajs';
import type { Topics } from '../config.js';
import type { DecodeLimits } from '../events/decode.js';
import type { HistoryRecord } from '../history/history-record.js';
import { HISTORY_ROLES, historyOrder } from '../history/history-record.js';
import { mergeOrdered } from '../history/merge.js';
import { openHistory } from '../history/topic-reader.js';
import type { AuditReport } from './episodes.js';
import type { AuditWindow } from './history-judge.js';
import { HistoryJudge } from './history-judge.js';

export interface AuditOptions {
  /** Which chats to report; reading stops after `until`. */
  window?: AuditWindow;
  /** Called every few thousand records with the number read so far. */
  onProgress?: (records: number) => void;
}

const PROGRESS_EVERY = 5_000;

/** Audits records already in the order they happened (a merged history, or a file). */
export async function auditRecords(
  records: AsyncIterable<HistoryRecord> | Iterable<HistoryRecord>,
  opts: AuditOptions = {},
): Promise<AuditReport> {
  const started = performance.now();
  const window = opts.window ?? {};
  const judge = new HistoryJudge();
  const malformed: Record<string, number> = {};
  let read = 0;
  for await (const r of records) {
    // Ordered input: the first record past --until means nothing after it is wanted.
    if (window.until !== undefined && r.timed && r.at > window.until) break;
    read++;
    if (read % PROGRESS_EVERY === 0) opts.onProgress?.(read);
    const c = r.content;
    switch (c.kind) {
      case 'event':
        judge.apply({
          event: c.event,
          at: r.at,
          ref: {
            eventId: c.event.eventId,
            type: c.event.type,
            topic: r.topic,
            partition: r.partition,
            offset: Number(r.offset),
          },
        });
        break;
      case 'freeze':
        judge.freeze(c.chatId, r.at);
        break;
      case 'malformed':
        malformed[c.reason] = (malformed[c.reason] ?? 0) + 1;
        break;
      case 'unfreeze':
      case 'other':
        break;
    }
  }
  opts.onProgress?.(read);
  const chats = judge.report(window);
  const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());
  return {
    summary: {
      records: read,
      events: judge.events,
      malformed,
      outOfOrder: judge.outOfOrder,
      firstEventAt: iso(judge.firstAt),
      lastEventAt: iso(judge.lastAt),
      since: iso(window.since),
      until: iso(window.until),
      chats: chats.length,
      ongoing: chats.filter((c) => c.ongoing).length,
      frozen: chats.filter((c) => c.frozen).length,
      seconds: (performance.now() - started) / 1000,
    },
    chats,
  };
}

export interface AuditTopicsOptions extends AuditOptions {
  kafka: Kafka;
  topics: Topics;
  limits: DecodeLimits;
  /** Called once the number of records to read is known. */
  onTotal?: (records: number) => void;
}

/** Audits what is on the topics now. */
export async function auditTopics(opts: AuditTopicsOptions): Promise<AuditReport> {
  const started = performance.now();
  const reader = await openHistory({
    kafka: opts.kafka,
    sources: HISTORY_ROLES.map((role) => ({ role, topic: opts.topics[role] })),
    limits: opts.limits,
    groupPrefix: 'pairguard-audit',
    keepBytes: false,
  });
  opts.onTotal?.(reader.total);
  try {
    const report = await auditRecords(mergeOrdered(reader.streams, historyOrder), opts);
    report.summary.seconds = (performance.now() - started) / 1000;
    return report;
  } finally {
    await reader.close();
  }
}
