/**
 * Writes a batch's outputs (alerts, freeze commands, dead letters) in one produce request, and
 * only then marks the decisions as sent in state: a crash in between re-sends them with the same
 * alertId rather than losing them. While lost state is rebuilt, an output already on its topic
 * (learned from the topics, state/learned.ts) is not written again; its decision is marked sent all
 * the same.
 */
import type { CompressionTypes, Producer } from 'kafkajs';
import type { DeadLetter } from '../actions/records.js';
import type { Topics } from '../config.js';
import type { Output } from '../judge/judge.js';
import type { LearnedReads, StateStore } from '../state/store.js';
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
    /** What a rebuild learned was written already (state/learned-gate.ts); absent: nothing was. */
    private readonly learned?: Pick<LearnedReads, 'alreadyWritten'>,
  ) {}

  /** Writes the outputs and dead letters, marks the decisions sent; returns the outputs written now. */
  async publish(outputs: readonly Output[], deadLetters: readonly DeadLetterOut[]): Promise<readonly Output[]> {
    if (outputs.length === 0 && deadLetters.length === 0) return outputs;
    const fresh = await this.notWrittenYet(outputs);
    const alerts = fresh.filter((o) => o.kind === 'alert');
    const freezes = fresh.filter((o) => o.kind === 'freeze');
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
    // Every decision is marked, those written before the state was lost included.
    await Promise.all(outputs.flatMap((o) => (o.mark ? [this.store.markSent(o.mark)] : [])));
    return fresh;
  }

  /** The outputs not on their topics yet: all of them, unless a rebuild learned some were written. */
  private async notWrittenYet(outputs: readonly Output[]): Promise<readonly Output[]> {
    if (!this.learned || outputs.length === 0) return outputs;
    const written = await this.learned.alreadyWritten(
      outputs.map((o) => ({ kind: o.kind, chatId: o.chatId, alertId: o.record.alertId })),
    );
    return written.includes(true) ? outputs.filter((_, i) => !written[i]) : outputs;
  }
}
