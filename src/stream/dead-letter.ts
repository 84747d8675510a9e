/**
 * Dead-letter records (contract §3): the reason, where the original is, and a fingerprint of its
 * bytes. The original stays on its input topic, so the dead letter carries of its value only what
 * an allowlist vets: the fields the contract names for events, each holding a value of the shape
 * that field takes (never a child's `text`, never a field nobody vetted, never free words under a
 * named field), and nothing at all when the value is not a JSON object (a bare string could itself
 * be the text). The same rule holds on every topic, whatever the record claims to be.
 *
 * Building one never throws: a dead letter that cannot be built in full is sent minimal (reason,
 * where, size and hash), since a throw here would fail the batch and stall its partition.
 */
import { createHash } from 'node:crypto';
import { SCHEMA_VERSION, type DeadLetter } from '../actions/records.js';
import { EVENT_FIELDS, INPUT_EVENT_TYPES, id } from '../events/schema.js';

/**
 * Largest `value` carried, as JSON before base64 (base64 adds a third). Vetted fields of a real
 * event fit many times over; beyond it `value` is left out whole, never cut, so a dead letter stays
 * small whatever the record's size, and the broker accepts it.
 */
export const MAX_CARRIED_VALUE_BYTES = 2048;

/** Characters of the key carried in the record's `key` field: ids are at most 256 characters. */
export const MAX_KEY_CHARS = 256;

/** Characters of `error` kept: a reason and a short, input-free detail. */
export const MAX_ERROR_CHARS = 512;

/** A bound on one dead letter's value (JSON) that the caps above guarantee; asserted by tests. */
export const MAX_DEAD_LETTER_BYTES = 8192;

/** Where a malformed record was read. */
export interface SourceRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
}

/** More members than could fit in MAX_CARRIED_VALUE_BYTES (each takes 3 bytes at least): not checked one by one. */
const MAX_CARRIED_MEMBERS = Math.floor(MAX_CARRIED_VALUE_BYTES / 3);

/** Event `type` values a dead letter may name: input events and the control topic's own. */
const KNOWN_TYPES: ReadonlySet<string> = new Set<string>([
  ...INPUT_EVENT_TYPES,
  'chat.unfrozen',
  'chat.freeze',
  'freeze-breaker.reset',
]);

/** `error` is `<reason>: <detail>`; the reason is one of decode.ts's DECODE_FAILURES. */
export function deadLetterOf(src: SourceRecord, error: string): DeadLetter {
  try {
    return fullDeadLetter(src, error);
  } catch {
    return minimalDeadLetter(src, error);
  }
}

function fullDeadLetter(src: SourceRecord, error: string): DeadLetter {
  const value = src.value ?? Buffer.alloc(0);
  const record: DeadLetter = {
    schemaVersion: SCHEMA_VERSION,
    error: error.slice(0, MAX_ERROR_CHARS),
    topic: src.topic,
    partition: src.partition,
    offset: Number(src.offset),
    key: src.key ? src.key.toString('utf8').slice(0, MAX_KEY_CHARS) : null,
    valueBytes: value.length,
    valueSha256: sha256(value),
  };
  const carried = carriedValue(value);
  return carried ? { ...record, value: carried } : record;
}

/** What is always known of a record, built from nothing that can fail on its content. */
function minimalDeadLetter(src: SourceRecord, error: string): DeadLetter {
  const value = Buffer.isBuffer(src.value) ? src.value : Buffer.alloc(0);
  const reason = /^[a-z-]{1,40}/.exec(String(error))?.[0] ?? 'invalid-fields';
  return {
    schemaVersion: SCHEMA_VERSION,
    error: `${reason}: the dead letter could not be built in full`,
    topic: String(src.topic),
    partition: Number(src.partition),
    offset: Number(src.offset),
    key: null,
    valueBytes: value.length,
    valueSha256: sha256(value),
  };
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** base64 of the vetted fields, or undefined when there are none to carry or they are too large. */
function carriedValue(value: Buffer): string | undefined {
  const fields = vettedFields(value);
  if (!fields) return undefined;
  const json = Buffer.from(JSON.stringify(fields), 'utf8');
  return json.length <= MAX_CARRIED_VALUE_BYTES ? json.toString('base64') : undefined;
}

/** The value's allowlisted fields, or null when it is not a JSON object. */
function vettedFields(value: Buffer): Record<string, unknown> | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(value));
  } catch {
    return null;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
  const kept: Record<string, unknown> = {};
  // Only the allowlist is looked up: the record's own keys, however many, are never walked.
  for (const field of EVENT_FIELDS) {
    if (!Object.hasOwn(parsed, field)) continue;
    const v = (parsed as Record<string, unknown>)[field];
    if (fieldMayCarry(field, v)) kept[field] = v;
  }
  return kept;
}

/**
 * Whether a named field's value has the shape that field takes. A wrong type (a number for an id)
 * is kept, as it tells what was wrong and holds no words; a string must be what the field holds,
 * so no sentence travels under a field's name; objects and nested arrays are never carried.
 */
function fieldMayCarry(field: string, v: unknown): boolean {
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return true;
  if (field === 'members')
    return (
      Array.isArray(v) &&
      v.length <= MAX_CARRIED_MEMBERS &&
      v.every((m) => (typeof m === 'string' ? isId(m) : isWordless(m)))
    );
  if (typeof v !== 'string') return false;
  switch (field) {
    case 'type':
      return KNOWN_TYPES.has(v);
    case 'role':
      return v === 'child' || v === 'adult';
    case 'occurredAt':
      // A wrong date is shown (`not-a-date`, `2026-11-21 10:00`), a sentence is not.
      return v.length <= 64 && (!/\s/.test(v) || /^[0-9TZtz:.,+\- ]*$/.test(v));
    default:
      return isId(v);
  }
}

/**
 * An id the contract would accept, and without whitespace: ids are opaque tokens, while a child's
 * sentence put in an id's place has spaces. (A single word is indistinguishable from an id.)
 */
const isId = (s: string) => !/\s/.test(s) && id.safeParse(s).success;
const isWordless = (v: unknown) => v === null || typeof v === 'number' || typeof v === 'boolean';
