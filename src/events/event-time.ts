/**
 * Event time: the one order in which history is judged, by the live monitor and by the audit
 * alike. A record's stamp is its judged moment (`occurredAt`, or its Kafka timestamp when the clock
 * was too far ahead), then, for records of the same millisecond, its topic's rank (approvals before
 * membership before messages before the control topic: an approval made in the same millisecond as
 * a join counts for it), its partition and its offset. Every record has its own stamp, and the
 * stamp depends only on the record, never on when or by whom it was consumed.
 */
import type { Stamp } from '../policy/timeline.js';
import type { InputEventType } from './schema.js';
import { streamOfType } from './schema.js';

/** The topics whose records take part in event time, in the order they are ranked. */
export type EventTimeTopic = 'approvals' | 'membership' | 'messages' | 'control';

export const TOPIC_RANK: Readonly<Record<EventTimeTopic, number>> = Object.freeze({
  approvals: 0,
  membership: 1,
  messages: 2,
  control: 3,
});

/** The stamp of a record of `topic` judged at `at`. */
export function recordStamp(topic: EventTimeTopic, at: number, partition: number, offset: number): Stamp {
  return [at, TOPIC_RANK[topic], partition, offset];
}

/** The stamp of an input event's record: its topic follows from its type (contract §2). */
export function eventStamp(type: InputEventType, at: number, partition: number, offset: number): Stamp {
  return recordStamp(streamOfType[type], at, partition, offset);
}
