/**
 * `pairguard export`: dumps the input topics and the control topic to JSONL in the order things
 * happened (the partitions merged by time), in the format `pairguard replay` reads, so a production
 * incident can be reproduced in a test. Message text is never written.
 */
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import type { Kafka } from 'kafkajs';
import type { Topics } from '../config.js';
import type { DecodeLimits } from '../events/decode.js';
import { exportLine } from '../history/export-line.js';
import type { HistoryRole } from '../history/history-record.js';
import { HISTORY_ROLES, historyOrder } from '../history/history-record.js';
import { mergeOrdered } from '../history/merge.js';
import { openHistory } from '../history/topic-reader.js';
import { progressBar } from './progress.js';

export interface ExportOptions {
  kafka: Kafka;
  topics: Topics;
  limits: DecodeLimits;
  /** File to write; null writes to stdout. */
  out: string | null;
  /** Also export the control topic (freezes, unfreezes). */
  control: boolean;
  progress: boolean;
}

export interface ExportSummary {
  records: number;
  byRole: Partial<Record<HistoryRole, number>>;
  /** Records written as raw-record lines (not valid events). */
  raw: number;
  /** Records whose text (or whole value, when unparseable on the messages topic) was withheld. */
  redacted: number;
  seconds: number;
}

/** Writes with back-pressure, in chunks, so a long history streams at disk speed. */
async function write(stream: Writable, text: string): Promise<void> {
  if (!stream.write(text)) await new Promise((r) => stream.once('drain', r));
}

export async function exportTopics(opts: ExportOptions): Promise<ExportSummary> {
  const started = performance.now();
  const roles = HISTORY_ROLES.filter((r) => opts.control || r !== 'control');
  const reader = await openHistory({
    kafka: opts.kafka,
    sources: roles.map((role) => ({ role, topic: opts.topics[role] })),
    limits: opts.limits,
    groupPrefix: 'pairguard-export',
  });
  const bar = progressBar(
    opts.progress,
    'export [{bar}] {percentage}% | {value}/{total} records | {rate}/s | {eta_formatted} left',
  );
  bar.start(reader.total);
  const out = opts.out ? createWriteStream(opts.out) : process.stdout;
  const summary: ExportSummary = { records: 0, byRole: {}, raw: 0, redacted: 0, seconds: 0 };
  let buffer = '';
  try {
    for await (const r of mergeOrdered(reader.streams, historyOrder)) {
      const { line, raw, redacted } = exportLine(r);
      buffer += `${line}\n`;
      summary.records++;
      summary.byRole[r.role] = (summary.byRole[r.role] ?? 0) + 1;
      if (raw) summary.raw++;
      if (redacted) summary.redacted++;
      if (buffer.length >= 1 << 20) {
        await write(out, buffer);
        buffer = '';
        bar.update(summary.records);
      }
    }
    await write(out, buffer);
    bar.update(summary.records);
  } finally {
    bar.stop();
    await reader.close();
    if (opts.out)
      await new Promise<void>((resolve, reject) =>
        (out as ReturnType<typeof createWriteStream>).end((err?: Error | null) => (err ? reject(err) : resolve())),
      );
  }
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}
