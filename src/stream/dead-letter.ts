/**
 * Dead-letter records (contract §3): the reason and the original bytes, so nothing is lost.
 * One exception, because a child's message text must never reach an output topic: a record from
 * the messages topic goes out with its `text` field removed, or with no value at all when it
 * cannot be parsed well enough to find the text. Its topic, partition and offset still point at
 * the untouched original.
 */
import type { DeadLetter } from '../actions/records.js';

/** Where a malformed record was read. */
export interface SourceRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
}

export function deadLetterOf(src: SourceRecord, error: string, mayHoldText: boolean): DeadLetter {
  const base = {
    error,
    topic: src.topic,
    partition: src.partition,
    offset: Number(src.offset),
    key: src.key ? src.key.toString('utf8') : null,
  };
  if (!src.value) return { ...base, value: null };
  if (!mayHoldText) return { ...base, value: src.value.toString('base64') };
  const withoutText = stripText(src.value);
  if (withoutText === 'unparseable') return { ...base, value: null, redacted: ['value'] };
  if (withoutText === 'no-text') return { ...base, value: src.value.toString('base64') };
  return { ...base, value: withoutText.toString('base64'), redacted: ['text'] };
}

function stripText(value: Buffer): Buffer | 'no-text' | 'unparseable' {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(value));
  } catch {
    return 'unparseable';
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    // A bare string or array on the messages topic could itself be the text.
    return 'unparseable';
  }
  if (!Object.hasOwn(parsed, 'text')) return 'no-text';
  const { text: _text, ...rest } = parsed as Record<string, unknown>;
  return Buffer.from(JSON.stringify(rest), 'utf8');
}
