/**
 * Bytes from Kafka to a validated event, or a reason the record is malformed. Never throws: a bad
 * record is a value to send to the dead-letter topic, not an exception that stalls the consumer.
 */
import type { z } from 'zod';
import type { ControlEvent, InputEvent, Stream } from './schema.js';
import { chatUnfrozen, freezeBreakerReset, schemasByStream, streamOfType } from './schema.js';

/** Stable reasons, used as the `reason` label of `pairguard_dead_letters_total`. */
export const DECODE_FAILURES = [
  'empty-value',
  'too-large',
  'invalid-utf8',
  'invalid-json',
  'not-an-object',
  'unknown-type',
  'wrong-topic',
  'too-many-members',
  'invalid-fields',
] as const;
export type DecodeFailure = (typeof DECODE_FAILURES)[number];

/** A decoded input event with its judging moment. */
export type Decoded<E> = { ok: true; event: E; at: number } | { ok: false; reason: DecodeFailure; detail: string };

/** Size limits applied before and after parsing. */
export interface DecodeLimits {
  /** Largest record value accepted, in bytes. */
  maxValueBytes: number;
  /** Most members a `chat.created` may list. */
  maxMembers: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function parseObject(value: Buffer | null, limits: DecodeLimits): { ok: true; obj: Record<string, unknown> } | { ok: false; reason: DecodeFailure; detail: string } {
  if (!value || value.length === 0) return { ok: false, reason: 'empty-value', detail: 'record has no value' };
  if (value.length > limits.maxValueBytes) {
    return { ok: false, reason: 'too-large', detail: `value is ${value.length} bytes, limit ${limits.maxValueBytes}` };
  }
  let text: string;
  try {
    text = utf8.decode(value);
  } catch {
    return { ok: false, reason: 'invalid-utf8', detail: 'value is not valid UTF-8' };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // V8's parse error quotes the input, which may be a child's message: never pass it on.
    return { ok: false, reason: 'invalid-json', detail: 'value is not valid JSON' };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { ok: false, reason: 'not-an-object', detail: 'value is not a JSON object' };
  }
  return { ok: true, obj: parsed as Record<string, unknown> };
}

/** Names a `type` value for an error without converting it: a crafted object can throw on String(). */
function describeType(type: unknown): string {
  if (typeof type === 'string') return JSON.stringify(type.slice(0, 60));
  if (type === undefined) return '(missing)';
  return `(${type === null ? 'null' : Array.isArray(type) ? 'an array' : `a ${typeof type}`})`;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(value)'}: ${i.message}`)
    .join('; ');
}

/**
 * Decodes a record from one of the three input topics. Never throws: should decoding itself fail
 * on some input nobody foresaw, the record is dead-lettered (and so kept) rather than failing its
 * batch again and again, which would stall the partition.
 */
export function decodeInput(stream: Stream, value: Buffer | null, limits: DecodeLimits): Decoded<InputEvent> {
  try {
    return decodeChecked(stream, value, limits);
  } catch {
    return { ok: false, reason: 'invalid-fields', detail: 'the record could not be read' };
  }
}

function decodeChecked(stream: Stream, value: Buffer | null, limits: DecodeLimits): Decoded<InputEvent> {
  const parsed = parseObject(value, limits);
  if (!parsed.ok) return parsed;
  const type = parsed.obj.type;
  if (typeof type !== 'string' || !Object.hasOwn(streamOfType, type)) {
    return { ok: false, reason: 'unknown-type', detail: `unknown event type ${describeType(type)}` };
  }
  const home = streamOfType[type as keyof typeof streamOfType];
  if (home !== stream) {
    return { ok: false, reason: 'wrong-topic', detail: `${type} belongs on the ${home} topic, not ${stream}` };
  }
  if (type === 'chat.created' && Array.isArray(parsed.obj.members) && parsed.obj.members.length > limits.maxMembers) {
    return { ok: false, reason: 'too-many-members', detail: `members lists ${parsed.obj.members.length}, limit ${limits.maxMembers}` };
  }
  const schema = (schemasByStream[stream] as Record<string, z.ZodType<InputEvent>>)[type]!;
  const result = schema.safeParse(parsed.obj);
  if (!result.success) return { ok: false, reason: 'invalid-fields', detail: `${type}: ${describeIssues(result.error)}` };
  return { ok: true, event: result.data, at: Date.parse(result.data.occurredAt) };
}

/** Decodes a record from the control topic: `null` for records that are not for pairguard to act on. */
export function decodeControl(value: Buffer | null, limits: DecodeLimits): Decoded<ControlEvent> | null {
  const parsed = parseObject(value, limits);
  if (!parsed.ok) return parsed;
  const type = parsed.obj.type;
  if (type !== 'chat.unfrozen' && type !== 'freeze-breaker.reset') return null;
  const result = (type === 'chat.unfrozen' ? chatUnfrozen : freezeBreakerReset).safeParse(parsed.obj);
  if (!result.success) return { ok: false, reason: 'invalid-fields', detail: `${type}: ${describeIssues(result.error)}` };
  return { ok: true, event: result.data, at: Date.parse(result.data.occurredAt) };
}
