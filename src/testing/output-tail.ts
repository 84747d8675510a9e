/**
 * What pairguard wrote, read as it is written: a consumer of the alerts, control and dead-letter
 * topics from their first record, so a wait never misses a record written before it began.
 */
import type { Admin, Consumer, Kafka } from 'kafkajs';
import type { AlertRecord, DeadLetter, FreezeCommand } from '../actions/records.js';
import type { Topics } from '../config.js';

export class OutputTail {
  readonly alerts: AlertRecord[] = [];
  readonly freezes: FreezeCommand[] = [];
  readonly deadLetters: DeadLetter[] = [];
  /** The next offset to read, per `topic/partition`. */
  private readonly next = new Map<string, bigint>();
  private readonly consumer: Consumer;
  private readonly topics: string[];

  constructor(
    kafka: Kafka,
    private readonly names: Topics,
    /** Its consumer group (it commits nothing; cleanup deletes the group). */
    readonly groupId: string,
  ) {
    this.consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 50 });
    this.topics = [names.alerts, names.control, names.deadLetter];
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.topics, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        this.next.set(`${topic}/${partition}`, BigInt(message.offset) + 1n);
        if (!message.value) return;
        const v = JSON.parse(message.value.toString()) as { type?: string };
        if (topic === this.names.alerts) this.alerts.push(v as AlertRecord);
        else if (topic === this.names.deadLetter) this.deadLetters.push(v as DeadLetter);
        else if (v.type === 'chat.freeze') this.freezes.push(v as FreezeCommand);
      },
    });
  }

  /** Whether every record on the three topics so far has been read. */
  async caughtUp(admin: Admin): Promise<boolean> {
    for (const topic of this.topics) {
      for (const w of await admin.fetchTopicOffsets(topic)) {
        if ((this.next.get(`${topic}/${w.partition}`) ?? BigInt(w.low)) < BigInt(w.high)) return false;
      }
    }
    return true;
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}
