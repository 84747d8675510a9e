/**
 * Splits what a flush writes into produce requests small enough for any broker. kafkajs sends one
 * record batch per partition per request, and the broker refuses a batch over the topic's
 * `max.message.bytes` (1 MiB by default) — refuses it every time the batch is retried, which would
 * stall the partition for good. A run of hostile records (hundreds of dead letters, or alerts of
 * one huge chat, all with one key) must not add up to such a batch.
 */
import type { Message, TopicMessages } from 'kafkajs';

/** Key and value bytes in one produce request; a quarter of Kafka's default, leaving room for lower settings. */
export const MAX_REQUEST_BYTES = 256 * 1024;

/** Kafka's per-record framing (lengths, offsets, timestamp deltas, headers count), rounded up. */
const RECORD_OVERHEAD = 64;

const sizeOf = (b: Message['key'] | Message['value']) =>
  b == null ? 0 : typeof b === 'string' ? Buffer.byteLength(b) : b.length;

/**
 * The same messages, in the same order per topic, grouped into requests of at most `maxBytes`
 * each; a message larger than that alone goes in a request of its own.
 */
export function inRequests(topicMessages: readonly TopicMessages[], maxBytes = MAX_REQUEST_BYTES): TopicMessages[][] {
  const requests: TopicMessages[][] = [];
  let current: TopicMessages[] = [];
  let bytes = 0;
  for (const { topic, messages } of topicMessages) {
    let batch: Message[] = [];
    for (const m of messages) {
      const size = sizeOf(m.key) + sizeOf(m.value) + RECORD_OVERHEAD;
      if (bytes > 0 && bytes + size > maxBytes) {
        if (batch.length > 0) current.push({ topic, messages: batch });
        requests.push(current);
        [current, batch, bytes] = [[], [], 0];
      }
      batch.push(m);
      bytes += size;
    }
    if (batch.length > 0) current.push({ topic, messages: batch });
  }
  if (current.length > 0) requests.push(current);
  return requests;
}
