/** `pairguard audit`: the audit of what is on the topics, printed as a table or as JSON, and optionally written as an HTML page. */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { auditTopics } from '../audit/audit.js';
import type { AuditReport } from '../audit/episodes.js';
import { renderAuditHtml } from '../audit/report-html.js';
import { renderAuditText } from '../audit/report-text.js';
import type { Topics } from '../config.js';
import { PairguardError } from '../errors.js';
import type { DecodeLimits } from '../events/decode.js';
import { HISTORY_ROLES } from '../history/history-record.js';
import { progressBar } from './progress.js';

export interface AuditCommandOptions {
  kafka: Kafka;
  topics: Topics;
  limits: DecodeLimits;
  json: boolean;
  since?: number;
  until?: number;
  /** Also write the report as an HTML page to this file. */
  html?: string;
  progress: boolean;
}

/**
 * Chart.js's browser build, found from the package's entry point (its exports map does not
 * expose dist/ files), so it resolves the same from a checkout and from an installed pairguard.
 */
export function chartJsSource(): string {
  const entry = createRequire(import.meta.url).resolve('chart.js');
  const umd = readFileSync(path.join(path.dirname(entry), 'chart.umd.js'), 'utf8');
  // The page is opened offline: a source map reference could only fail to load.
  return umd.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
}

export function writeAuditHtml(report: AuditReport, file: string, generatedAt = new Date()): void {
  writeFileSync(file, renderAuditHtml(report, { chartJs: chartJsSource(), generatedAt }));
}

/** A missing topic (a mistyped --topic-prefix, a deployment not set up yet) ends the audit at once, not after kafkajs's retries. */
async function requireTopics(kafka: Kafka, topics: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length > 0) throw new PairguardError('TOPIC_MISSING', `cannot audit: no topic ${missing.join(', ')}`);
  } finally {
    await admin.disconnect();
  }
}

export async function runAudit(opts: AuditCommandOptions): Promise<{ report: AuditReport; output: string }> {
  const bar = progressBar(
    opts.progress,
    'audit [{bar}] {percentage}% | {value}/{total} records | {rate}/s | {eta_formatted} left',
  );
  try {
    await requireTopics(
      opts.kafka,
      HISTORY_ROLES.map((role) => opts.topics[role]),
    );
    const report = await auditTopics({
      kafka: opts.kafka,
      topics: opts.topics,
      limits: opts.limits,
      window: { since: opts.since, until: opts.until },
      onTotal: (total) => bar.start(total),
      onProgress: (records) => bar.update(records),
    });
    bar.stop();
    if (opts.html) writeAuditHtml(report, opts.html);
    return { report, output: opts.json ? `${JSON.stringify(report, null, 2)}\n` : renderAuditText(report) };
  } finally {
    bar.stop();
  }
}
