/** `pairguard audit`: the audit of what is on the topics, printed as a table or as JSON. */
import type { Kafka } from 'kafkajs';
import { auditTopics } from '../audit/audit.js';
import type { AuditReport } from '../audit/episodes.js';
import { renderAuditText } from '../audit/report-text.js';
import type { Topics } from '../config.js';
import type { DecodeLimits } from '../events/decode.js';
import { progressBar } from './progress.js';

export interface AuditCommandOptions {
  kafka: Kafka;
  topics: Topics;
  limits: DecodeLimits;
  json: boolean;
  since?: number;
  until?: number;
  progress: boolean;
}

export async function runAudit(opts: AuditCommandOptions): Promise<{ report: AuditReport; output: string }> {
  const bar = progressBar(opts.progress, 'audit [{bar}] {percentage}% | {value}/{total} records | {rate}/s | {eta_formatted} left');
  try {
    const report = await auditTopics({
      kafka: opts.kafka,
      topics: opts.topics,
      limits: opts.limits,
      window: { since: opts.since, until: opts.until },
      onTotal: (total) => bar.start(total),
      onProgress: (records) => bar.update(records),
    });
    bar.stop();
    return { report, output: opts.json ? `${JSON.stringify(report, null, 2)}\n` : renderAuditText(report) };
  } finally {
    bar.stop();
  }
}
