/**
 * Dead-letter records (contract §3): the reason, where the original is, and a fingerprint of its
 * bytes. The original stays on its input topic, so the dead letter carries of its value only the
 * fields the contract names for events: never a child's `text`, never a field nobody vetted, and
 * nothing at all when the value is not a JSON object (a bare string could itself be the text).
 */
import { createHash } from 'node:crypto';
import { SCHEMA_VERSION, type DeadLetter } from '../actions/records.js';
import { EVENT_FIELDS } from '../events/schema.js';

/** Where a malformed record was read. */
export interface SourceRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
}

export function deadLetterOf(src: SourceRecord, error: string): DeadLetter {
  const value = src.value ?? Buffer.alloc(0);
  const record: DeadLetter = {
    schemaVersion: SCHEMA_VERSION,
    error,
    topic: src.topic,
    partition: src.partition,
    offset: Number(src.offset),
    key: src.key ? src.key.toString('utf8') : null,
    valueBytes: value.length,
    valueSha256: createHash('sha256').update(value).digest('hex'),
  };
  const named = namedFields(value);
  return named ? { ...record, value: Buffer.from(JSON.stringify(named), 'utf8').toString('base64') } : record;
}

/**
 * The value's fields that the contract names, or null when it is not a JSON object. A named field
 * holding an object is left out too: no event field is one, and what is inside was never vetted.
 */
function namedFields(value: Buffer): Record<string, unknown> | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(value));
  } catch {
    return null;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
  const kept: Record<string, unknown> = {};
  for (const [field, v] of Object.entries(parsed)) {
    if (EVENT_FIELDS.has(field) && isFlat(v)) kept[field] = v;
  }
  return kept;
}

/** A JSON scalar, or an array of scalars (such as `members`). */
function isFlat(v: unknown): boolean {
  const scalar = (x: unknown) => x === null || typeof x !== 'object';
  return scalar(v) || (Array.isArray(v) && v.every(scalar));
}
