/**
 * `pairguard`: the monitor, the audit, replay and export as a library, for a service that embeds
 * pairguard instead of running `pairguard run`, and the types of the records it reads and writes.
 * Test suites want `pairguard/testing`; the JSON Schemas and AsyncAPI document of the same records
 * are files under `pairguard/schemas/`.
 *
 * ```ts
 * import { loadConfig, Monitor } from 'pairguard';
 *
 * const monitor = await Monitor.start({ config: loadConfig(process.env) });
 * process.once('SIGTERM', () => void monitor.stop());
 * ```
 *
 * Everything not exported here is internal and may change in any release.
 */

// Configuration: the same variables `pairguard run` reads, validated into one typed object.
export type { Config, OutputCompression, TopicRole, Topics } from './config.js';
export { DEFAULT_TOPICS, loadConfig, OUTPUT_COMPRESSIONS, prefixedTopicEnv } from './config.js';
export type { ErrorCode } from './errors.js';
export { ConfigError, PairguardError } from './errors.js';

// The monitor and what it is given.
export type { MonitorOptions } from './monitor.js';
export { Monitor } from './monitor.js';
export type { Logger } from './observability/logger.js';
export { createLogger } from './observability/logger.js';
export { Metrics } from './observability/metrics.js';
export { createKafka } from './stream/kafka-client.js';

// The audit, replay and export behind `pairguard audit`, `replay` and `export`.
export type { AuditOptions, AuditTopicsOptions } from './audit/audit.js';
export { auditRecords, auditTopics } from './audit/audit.js';
export type {
  AuditedChat,
  AuditedEpisode,
  AuditedPair,
  AuditReport,
  AuditSummary,
  EventRef,
} from './audit/episodes.js';
export type { AuditWindow } from './audit/history-judge.js';
export { renderAuditText } from './audit/report-text.js';
export type { ReplayLinesOptions, ReplayOptions, ReplaySummary } from './cli/replay.js';
export { replayFile, replayLines } from './cli/replay.js';
export type { ExportOptions, ExportSummary } from './cli/export.js';
export { exportTopics } from './cli/export.js';

// Records: the input events (contract §2), and what pairguard writes and reads on the output and control topics (§3).
export type {
  ApprovalEvent,
  ChatCreated,
  ChatUnfrozen,
  ContactApproved,
  ContactRevoked,
  ControlEvent,
  FreezeBreakerReset,
  InputEvent,
  InputEventType,
  MemberAdded,
  MemberRemoved,
  MembershipEvent,
  MessageSent,
  UserRegistered,
} from './events/schema.js';
export type { AlertAction, AlertRecord, DeadLetter, FreezeCommand, TriggerRef } from './actions/records.js';
/** The `schemaVersion` every output record carries; raised only by an incompatible change. */
export { SCHEMA_VERSION } from './actions/records.js';
