/**
 * The published JSON Schemas (draft 2020-12) of every record pairguard reads or writes, generated
 * from the zod schemas that decode the inputs and type the outputs. `npm run schemas` writes them
 * to schemas/; a unit test fails when the committed files differ from what this module generates.
 */
import { z } from 'zod';
import { alertRecord, deadLetter, freezeCommand } from '../actions/records.js';
import type { TopicRole } from '../config.js';
import { chatCreated, chatUnfrozen, freezeBreakerReset, contactApproved, contactRevoked, memberAdded, memberRemoved, messageSentInput, userRegistered } from '../events/schema.js';

/** One published record schema. */
export interface RecordSchema {
  /** The record's `type` (`dead-letter` for dead letters, which have none); the file is `<name>.schema.json`. */
  name: string;
  /** The topic (by role, see DEFAULT_TOPICS) the record is on. */
  topic: TopicRole;
  /** `receive`: pairguard reads it; `send`: pairguard writes it. */
  action: 'receive' | 'send';
  /** The field that is the Kafka key, or null when the key is the dead record's own. */
  keyField: string | null;
  /** The zod schema it comes from; its meta holds the title and description. */
  schema: z.ZodType;
}

/** Every record of contract §2 and §3, inputs first, in contract order. */
export const RECORD_SCHEMAS: readonly RecordSchema[] = [
  { name: 'user.registered', topic: 'approvals', action: 'receive', keyField: 'userId', schema: userRegistered },
  { name: 'contact.approved', topic: 'approvals', action: 'receive', keyField: 'childId', schema: contactApproved },
  { name: 'contact.revoked', topic: 'approvals', action: 'receive', keyField: 'childId', schema: contactRevoked },
  { name: 'chat.created', topic: 'membership', action: 'receive', keyField: 'chatId', schema: chatCreated },
  { name: 'member.added', topic: 'membership', action: 'receive', keyField: 'chatId', schema: memberAdded },
  { name: 'member.removed', topic: 'membership', action: 'receive', keyField: 'chatId', schema: memberRemoved },
  { name: 'message.sent', topic: 'messages', action: 'receive', keyField: 'chatId', schema: messageSentInput },
  { name: 'chat.unfrozen', topic: 'control', action: 'receive', keyField: 'chatId', schema: chatUnfrozen },
  { name: 'freeze-breaker.reset', topic: 'control', action: 'receive', keyField: null, schema: freezeBreakerReset },
  { name: 'pairing.unapproved', topic: 'alerts', action: 'send', keyField: 'chatId', schema: alertRecord },
  { name: 'chat.freeze', topic: 'control', action: 'send', keyField: 'chatId', schema: freezeCommand },
  { name: 'dead-letter', topic: 'deadLetter', action: 'send', keyField: null, schema: deadLetter },
];

/** Base of every schema's `$id`: a name, not a place to fetch from. */
export const SCHEMA_ID_BASE = 'urn:pairguard:schema:';

export function schemaFileOf(r: RecordSchema): string {
  return `${r.name}.schema.json`;
}

export function schemaIdOf(r: RecordSchema): string {
  return `${SCHEMA_ID_BASE}${r.name}`;
}

/**
 * The JSON Schema of one record. Generated for the input side of each schema, where zod leaves
 * `additionalProperties` open: pairguard ignores unknown input fields, and a consumer of its
 * records must ignore fields added later.
 */
export function jsonSchemaOf(r: RecordSchema): Record<string, unknown> {
  const generated = z.toJSONSchema(r.schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'throw', override: portable });
  const { $schema, title, description, ...rest } = generated;
  return { $schema, $id: schemaIdOf(r), title, description, ...rest };
}

/** Every schema by file name, in RECORD_SCHEMAS order. */
export function jsonSchemas(): Map<string, Record<string, unknown>> {
  return new Map(RECORD_SCHEMAS.map((r) => [schemaFileOf(r), jsonSchemaOf(r)]));
}

/** Rewrites the few zod outputs that draft-07 readers (AsyncAPI's schema format, most type generators) would misread. */
function portable({ jsonSchema }: { jsonSchema: Record<string, unknown> }): void {
  tupleAsArray(jsonSchema);
  // `base64` is no JSON Schema format (validators reject unknown ones); contentEncoding says it.
  if (jsonSchema.format === 'base64' && jsonSchema.contentEncoding === 'base64') delete jsonSchema.format;
  // A literal integer (schemaVersion) is an integer, so generated types are not floats.
  if (jsonSchema.type === 'number' && Number.isInteger(jsonSchema.const)) jsonSchema.type = 'integer';
}

/**
 * A tuple whose items share one schema (the alert's `pair`) is stated as an array of fixed length:
 * it means the same in 2020-12, and draft-07 readers read it right instead of ignoring `prefixItems`.
 */
function tupleAsArray(jsonSchema: Record<string, unknown>): void {
  const items = jsonSchema.prefixItems;
  if (!Array.isArray(items) || items.length === 0) return;
  const first = JSON.stringify(items[0]);
  if (!items.every((i) => JSON.stringify(i) === first)) return;
  delete jsonSchema.prefixItems;
  jsonSchema.items = items[0];
}
