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

/**
 * A decoded input event with its judging moment: `occurredAt`, or the record's Kafka timestamp when
 * `occurredAt` is further ahead of it than the skew bound (`skew` then says `future`; `past` marks
 * an `occurredAt` further behind, judged as stated since history may be replayed).
 */
export type Decoded<E> =
  { ok: true; event: E; at: number; skew?: ClockSkew } | { ok: false; reason: DecodeFailure; detail: string };

/** Which way an `occurredAt` lies beyond the skew bound from its record's timestamp. */
export type ClockSkew = 'future' | 'past';

/** The Kafka record a value came with, for bounding clock skew. */
export interface RecordClock {
  /** The record's timestamp in ms (CreateTime or LogAppendTime); negative or NaN when it has none. */
  timestamp: number;
  /** PAIRGUARD_MAX_CLOCK_SKEW in ms. */
  maxSkewMs: number;
}

/** Size limits applied before and after parsing. */
export interface DecodeLimits {
  /** Largest record value accepted, in bytes. */
  maxValueBytes: number;
  /** Most members a `chat.created` may list. */
  maxMembers: number;
  /** PAIRGUARD_MAX_CLOCK_SKEW in ms, for readers that bound skew from their limits (the audit); absent: occurredAt is taken as stated. */
  maxClockSkewMs?: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function parseObject(
  value: Buffer | null,
  limits: DecodeLimits,
): { ok: true; obj: Record<string, unknown> } | { ok: false; reason: DecodeFailure; detail: string } {
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

/**
 * Names a `type` value for an error without converting it (a crafted object can throw on String()),
 * and quotes a string only when it reads as an event type name: a free string could be a child's
 * words put where the type goes, and errors reach the dead-letter topic.
 */
function describeType(type: unknown): string {
  if (typeof type === 'string')
    return /^[a-z][a-z0-9_-]{0,30}(\.[a-z0-9_-]{1,30}){1,3}$/.test(type)
      ? JSON.stringify(type)
      : `(a string of ${type.length} characters)`;
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
export function decodeInput(
  stream: Stream,
  value: Buffer | null,
  limits: DecodeLimits,
  clock?: RecordClock,
): Decoded<InputEvent> {
  try {
    return withJudgedMoment(decodeChecked(stream, value, limits), clock);
  } catch {
    return UNREADABLE;
  }
}

const UNREADABLE = { ok: false, reason: 'invalid-fields', detail: 'the record could not be read' } as const;

/**
 * Bounds how far ahead of its record an event may date itself: a fact stamped in the future (a
 * revocation dated 9999 would keep its approval standing until then) is judged as of the moment
 * Kafka has for it. Far in the past is only marked: replayed history is dated in the past.
 */
export function judgedMoment(occurredAt: number, clock: RecordClock | undefined): { at: number; skew?: ClockSkew } {
  if (!clock || !(clock.timestamp >= 0)) return { at: occurredAt };
  if (occurredAt - clock.timestamp > clock.maxSkewMs) return { at: clock.timestamp, skew: 'future' };
  if (clock.timestamp - occurredAt > clock.maxSkewMs) return { at: occurredAt, skew: 'past' };
  return { at: occurredAt };
}

function withJudgedMoment<E>(d: Decoded<E>, clock: RecordClock | undefined): Decoded<E> {
  if (!d.ok) return d;
  const { at, skew } = judgedMoment(d.at, clock);
  return skew ? { ...d, at, skew } : d;
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
    return {
      ok: false,
      reason: 'too-many-members',
      detail: `members lists ${parsed.obj.members.length}, limit ${limits.maxMembers}`,
    };
  }
  const schema = (schemasByStream[stream] as Record<string, z.ZodType<InputEvent>>)[type]!;
  const result = schema.safeParse(parsed.obj);
  if (!result.success)
    return { ok: false, reason: 'invalid-fields', detail: `${type}: ${describeIssues(result.error)}` };
  return { ok: true, event: result.data, at: Date.parse(result.data.occurredAt) };
}

/**
 * Decodes a record from the control topic: `null` for records that are not for pairguard to act on.
 * Never throws, and bounds clock skew as decodeInput does (an unfreeze dated 9999 would otherwise
 * clear every violation until then).
 */
export function decodeControl(
  value: Buffer | null,
  limits: DecodeLimits,
  clock?: RecordClock,
): Decoded<ControlEvent> | null {
  try {
    const d = decodeControlChecked(value, limits);
    return d && withJudgedMoment(d, clock);
  } catch {
    return UNREADABLE;
  }
}

function decodeControlChecked(value: Buffer | null, limits: DecodeLimits): Decoded<ControlEvent> | null {
  const parsed = parseObject(value, limits);
  if (!parsed.ok) return parsed;
  const type = parsed.obj.type;
  if (type !== 'chat.unfrozen' && type !== 'freeze-breaker.reset') return null;
  const result = (type === 'chat.unfrozen' ? chatUnfrozen : freezeBreakerReset).safeParse(parsed.obj);
  if (!result.success)
    return { ok: false, reason: 'invalid-fields', detail: `${type}: ${describeIssues(result.error)}` };
  return { ok: true, event: result.data, at: Date.parse(result.data.occurredAt) };
}
