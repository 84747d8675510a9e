/**
 * Writes a batch's outputs (alerts, freeze commands, dead letters) in one produce request, and
 * only then marks the decisions as sent in state: a crash in between re-sends them with the same
 * alertId rather than losing them.
 */
import type { CompressionTypes, Producer } from 'kafkajs';
import type { DeadLetter } from '../actions/records.js';
import type { Topics } from '../config.js';
import type { Output } from '../judge/judge.js';
import type { StateStore } from '../state/store.js';
import { inRequests } from './produce-requests.js';

export interface DeadLetterOut {
  key: Buffer | null;
  record: DeadLetter;
}

export class Publisher {
  constructor(
    private readonly producer: Producer,
    private readonly store: StateStore,
    private readonly topics: Topics,
    /** Codec of the written batches (KAFKA_OUTPUT_COMPRESSION); undefined writes them uncompressed. */
    private readonly compression?: CompressionTypes,
  ) {}

  async publish(outputs: readonly Output[], deadLetters: readonly DeadLetterOut[]): Promise<void> {
    if (outputs.length === 0 && deadLetters.length === 0) return;
    const alerts = outputs.filter((o) => o.kind === 'alert');
    const freezes = outputs.filter((o) => o.kind === 'freeze');
    const topicMessages = [
      { topic: this.topics.alerts, messages: alerts.map((o) => ({ key: o.chatId, value: JSON.stringify(o.record) })) },
      {
        topic: this.topics.control,
        messages: freezes.map((o) => ({ key: o.chatId, value: JSON.stringify(o.record) })),
      },
      {
        topic: this.topics.deadLetter,
        messages: deadLetters.map((d) => ({ key: d.key, value: JSON.stringify(d.record) })),
      },
    ].filter((t) => t.messages.length > 0);
    for (const request of inRequests(topicMessages))
      await this.producer.sendBatch({ topicMessages: request, acks: -1, compression: this.compression });
    await Promise.all(outputs.flatMap((o) => (o.mark ? [this.store.markSent(o.mark)] : [])));
  }
}
