/**
 * Step 1 of a chunk: its records decoded, each with its Kafka timestamp for bounding clock skew.
 * A chunk at a time, so what decoding allocates dies young.
 */
import type { KafkaMessage } from 'kafkajs';
import type { Topics } from '../../config.js';
import type { Decoded, DecodeLimits, RecordClock } from '../../events/decode.js';
import { decodeControl, decodeInput } from '../../events/decode.js';
import type { ControlEvent, InputEvent, Stream } from '../../events/schema.js';

/** Which input a batch is from: one of the three streams, or reviewers' control records. */
export type Source = Stream | 'control';

export function sourceOf(topics: Topics, topic: string): Source | null {
  if (topic === topics.approvals) return 'approvals';
  if (topic === topics.membership) return 'membership';
  if (topic === topics.messages) return 'messages';
  if (topic === topics.control) return 'control';
  return null;
}

/** A chunk's records decoded, in record order; a control record not for pairguard is null. */
export type DecodedChunk =
  | { source: Stream; records: ReadonlyArray<Decoded<InputEvent>> }
  | { source: 'control'; records: ReadonlyArray<Decoded<ControlEvent> | null> };

export function decodeChunk(
  source: Source,
  messages: readonly KafkaMessage[],
  limits: DecodeLimits,
  maxClockSkewSeconds: number,
): DecodedChunk {
  const clock = (m: KafkaMessage): RecordClock => ({
    timestamp: Number(m.timestamp),
    maxSkewMs: maxClockSkewSeconds * 1000,
  });
  if (source === 'control') return { source, records: messages.map((m) => decodeControl(m.value, limits, clock(m))) };
  return { source, records: messages.map((m) => decodeInput(source, m.value, limits, clock(m))) };
}
