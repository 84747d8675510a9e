/**
 * Step 2 of a chunk, pure: which records need the judge and in which lane, which are settled
 * without it (a member's message, a control record not for pairguard), and which are dead
 * letters. A lane holds the records about one id (a chat, or a child for approvals): a lane is
 * judged in record order, lanes concurrently. Two lanes are two chats or two users, which
 * pairguard already judges concurrently when they sit on different partitions (facts written
 * before they are read, decisions compare-and-set), so lanes change no answer.
 */
import type { KafkaMessage } from 'kafkajs';
import type { ClockSkew, Decoded } from '../../events/decode.js';
import { eventStamp } from '../../events/event-time.js';
import type {
  ChatUnfrozen,
  ControlEvent,
  FreezeBreakerReset,
  InputEvent,
  MembershipEvent,
  Stream,
} from '../../events/schema.js';
import type { ChunkRecord } from '../../judge/chunk.js';
import type { Trigger } from '../../judge/judge.js';
import { messageStanding } from '../../judge/judge.js';
import type { SenderState } from '../../state/store.js';
import { deadLetterOf } from '../dead-letter.js';
import type { StreamEvent } from '../events.js';
import type { DeadLetterOut } from '../publisher.js';
import { Tally } from './chunk-result.js';
import type { DecodedChunk } from './decode-chunk.js';

/** What judging one record takes, decided before anything is read or written. */
export type JudgeTask =
  /** An input event for the judge; `sender` is its sender's state when it is a message. */
  | { kind: 'input'; source: Stream; trigger: Trigger; sender?: SenderState }
  /** A reviewer lifting a freeze. */
  | { kind: 'unfreeze'; event: ChatUnfrozen; at: number }
  /** A person resetting the freeze breaker. */
  | { kind: 'breaker-reset'; event: FreezeBreakerReset };

/** A chunk's records as read from its batch. */
export interface ChunkRecords {
  /** Topic and partition of the batch. */
  topic: string;
  partition: number;
  /** Batch index of the chunk's first record: plans and results are keyed by batch index. */
  from: number;
  /** The chunk's records, from its first. */
  messages: readonly KafkaMessage[];
  /** The same records decoded. */
  decoded: DecodedChunk;
  /** Senders' states of the chunk's messages by batch index, read beforehand; null off the messages topic. */
  senders: ReadonlyMap<number, SenderState> | null;
}

export interface LanePlan {
  /** Lane → batch indices of its records, in record order. */
  lanes: Map<string, number[]>;
  /** What judging each laned record takes, by batch index. */
  tasks: Map<number, JudgeTask>;
  /** Membership records, in record order: prepared together before any is judged (judge/chunk.ts). */
  membership: ChunkRecord[];
  /** The malformed records as dead letters, in record order. */
  deadLetters: DeadLetterOut[];
  /** Records settled here, without the judge, by event type and outcome. */
  counts: Tally;
  /** What to report about the chunk's records before judging (skews, dead letters, enforcement gaps), in record order. */
  events: StreamEvent[];
}

export function planLanes(chunk: ChunkRecords): LanePlan {
  const plan: LanePlan = {
    lanes: new Map(),
    tasks: new Map(),
    membership: [],
    deadLetters: [],
    counts: new Tally(),
    events: [],
  };
  const { decoded } = chunk;
  const slot = (i: number): Slot => ({ index: chunk.from + i, message: chunk.messages[i]! });
  if (decoded.source === 'control')
    decoded.records.forEach((d, i) => {
      if (readable(plan, chunk, slot(i), d)) planControl(plan, slot(i), d);
    });
  else
    decoded.records.forEach((d, i) => {
      if (readable(plan, chunk, slot(i), d)) planInput(plan, chunk, decoded.source, slot(i), d);
    });
  return plan;
}

type Readable<E> = Extract<Decoded<E>, { ok: true }>;

/**
 * Settles a record that is not for the judge (a control record not for pairguard, a malformed
 * record) and reports a skewed clock; true when the record is readable and goes on to be planned.
 */
function readable<E>(plan: LanePlan, chunk: ChunkRecords, slot: Slot, d: Decoded<E> | null): d is Readable<E> {
  if (d === null) {
    plan.counts.add('other', 'ignored');
    return false;
  }
  if (!d.ok) {
    deadLetter(plan, chunk, slot.message, d.reason, d.detail);
    return false;
  }
  if (d.skew) plan.events.push(skewed(chunk, slot.message, d.skew));
  return true;
}

/** A record of the chunk: its batch index and the record itself. */
interface Slot {
  index: number;
  message: KafkaMessage;
}

function planControl(plan: LanePlan, { index }: Slot, { event, at }: Readable<ControlEvent>): void {
  if (event.type === 'freeze-breaker.reset') enqueue(plan, 'freeze-breaker', index, { kind: 'breaker-reset', event });
  else enqueue(plan, event.chatId, index, { kind: 'unfreeze', event, at });
}

function planInput(
  plan: LanePlan,
  chunk: ChunkRecords,
  source: Stream,
  { index, message }: Slot,
  { event, at }: Readable<InputEvent>,
): void {
  const sender = chunk.senders?.get(index);
  const stamp = eventStamp(event.type, at, chunk.partition, Number(message.offset));
  const standing = sender ? messageStanding(sender, stamp) : null;
  if (standing?.member) {
    // The common case, without the judge: a member's message can pair nobody new.
    if (standing.afterFreeze) plan.events.push({ type: 'message.after-freeze', topic: chunk.topic });
    plan.counts.add(event.type, 'applied');
    return;
  }
  const trigger: Trigger = {
    event,
    at,
    ref: {
      eventId: event.eventId,
      type: event.type,
      topic: chunk.topic,
      partition: chunk.partition,
      offset: Number(message.offset),
    },
  };
  if (source === 'membership') plan.membership.push({ event: event as MembershipEvent, at: stamp });
  enqueue(plan, laneOf(event), index, { kind: 'input', source, trigger, sender });
}

function enqueue(plan: LanePlan, lane: string, index: number, task: JudgeTask): void {
  const queue = plan.lanes.get(lane);
  if (queue) queue.push(index);
  else plan.lanes.set(lane, [index]);
  plan.tasks.set(index, task);
}

/** Records about the same chat (or, for approvals, the same child) are judged in order. */
export function laneOf(e: InputEvent): string {
  switch (e.type) {
    case 'user.registered':
      return `u:${e.userId}`;
    case 'contact.approved':
    case 'contact.revoked':
      return `u:${e.childId}`;
    default:
      return `c:${e.chatId}`;
  }
}

function deadLetter(plan: LanePlan, chunk: ChunkRecords, message: KafkaMessage, reason: string, detail: string) {
  const where = { topic: chunk.topic, partition: chunk.partition, offset: message.offset };
  plan.events.push({ type: 'record.dead-lettered', ...where, reason });
  plan.counts.add('unknown', 'dead-lettered');
  plan.deadLetters.push({
    key: message.key,
    record: deadLetterOf({ ...where, key: message.key, value: message.value }, `${reason}: ${detail}`),
  });
}

function skewed(chunk: ChunkRecords, message: KafkaMessage, direction: ClockSkew): StreamEvent {
  return {
    type: 'clock.skewed',
    topic: chunk.topic,
    partition: chunk.partition,
    offset: message.offset,
    key: message.key,
    recordTimestamp: Number(message.timestamp),
    direction,
  };
}
