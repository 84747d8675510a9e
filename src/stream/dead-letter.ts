/**
 * Dead-letter records (contract §3): the reason and the original bytes, so nothing is lost.
 * One exception, because a child's message text must never reach an output topic: a record from
 * the messages topic goes out with its `text` field removed, or with no value at all when it
 * cannot be parsed well enough to find the text. Its topic, partition and offset still point at
 * the untouched original.
 */
import type { DeadLetter } from '../actions/records.js';
import { withoutText } from '../events/redact.js';

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
  const stripped = withoutText(src.value);
  if (stripped === 'unparseable') return { ...base, value: null, redacted: ['value'] };
  if (stripped === 'no-text') return { ...base, value: src.value.toString('base64') };
  return { ...base, value: stripped.toString('base64'), redacted: ['text'] };
}
