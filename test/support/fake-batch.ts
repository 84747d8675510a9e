/**
 * The stream core without Kafka, as kafkajs tests its runner with a fake consumer group: a fake
 * `EachBatchPayload` of plain functions, a batch context that records what it is asked to do, and
 * a store wrapper that sees (and may delay or fail) every store call of the in-memory store.
 */
import type { EachBatchPayload, KafkaMessage } from 'kafkajs';
import { DEFAULT_TOPICS } from '../../src/config.js';
import type { JudgeDeps, Output } from '../../src/judge/judge.js';
import type { StateStore } from '../../src/state/store.js';
import type { BatchContext } from '../../src/stream/batch-handler.js';
import type { StreamEvent } from '../../src/stream/events.js';
import type { DeadLetterOut } from '../../src/stream/publisher.js';

export const TOPICS = { ...DEFAULT_TOPICS };

/** A record of a fake batch: an event (JSON-encoded), raw bytes, or no value at all. */
export type FakeRecord = object | Buffer | null;

export interface FakeBatch {
  payload: EachBatchPayload;
  /** Turn true to revoke the partition (kafkajs's isStale). */
  stale: boolean;
  /** Turn false to stop the consumer (kafkajs's isRunning). */
  running: boolean;
}

export interface FakeBatchOptions {
  partition?: number;
  /** Offset of the first record. */
  firstOffset?: number;
  /** Transaction markers after the last record: the batch's lastOffset lies this far beyond it. */
  trailingMarkers?: number;
  /** Kafka timestamp of every record (ms); 2026-11-21T10:00:00Z by default. */
  timestamp?: number;
  /** Record keys, by record index. */
  keys?: readonly string[];
}

/** `effects` receives `resolve <offset>` and `heartbeat`, in the order they happen. */
export function fakeBatch(
  topic: string,
  records: readonly FakeRecord[],
  effects: string[],
  opts: FakeBatchOptions = {},
): FakeBatch {
  const first = opts.firstOffset ?? 100;
  const messages: KafkaMessage[] = records.map((r, i) => ({
    key: opts.keys?.[i] === undefined ? null : Buffer.from(opts.keys[i]!),
    value: r === null || Buffer.isBuffer(r) ? r : Buffer.from(JSON.stringify(r)),
    timestamp: String(opts.timestamp ?? Date.parse('2026-11-21T10:00:00.000Z')),
    attributes: 0,
    offset: String(first + i),
    size: 0,
  }));
  const last = String(first + records.length - 1 + (opts.trailingMarkers ?? 0));
  const fake: FakeBatch = {
    stale: false,
    running: true,
    payload: {
      batch: {
        topic,
        partition: opts.partition ?? 0,
        highWatermark: String(Number(last) + 1),
        messages,
        isEmpty: () => messages.length === 0,
        firstOffset: () => messages[0]?.offset ?? null,
        lastOffset: () => last,
        offsetLag: () => '0',
        offsetLagLow: () => '0',
      },
      resolveOffset: (offset) => effects.push(`resolve ${offset}`),
      heartbeat: async () => {
        effects.push('heartbeat');
      },
      pause: () => () => undefined,
      commitOffsetsIfNecessary: async () => undefined,
      uncommittedOffsets: () => ({ topics: [] }),
      isRunning: () => fake.running,
      isStale: () => fake.stale,
    },
  };
  return fake;
}

/** Sees each store call by method name and arguments; `call` runs it on the wrapped store. */
export type StoreHook = (method: string, args: unknown[], call: () => Promise<unknown>) => Promise<unknown>;

/** The store, every call going through `hook` (which may delay it, fail it, or count it). */
export function spyStore(inner: StateStore, hook: StoreHook): StateStore {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const v: unknown = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) =>
        hook(String(prop), args, () => (v as (...a: unknown[]) => Promise<unknown>).apply(target, args));
    },
  });
}

/** What a batch context was asked to do. */
export interface Recorded {
  ctx: BatchContext;
  /** Effects in order: `publish`, `applied <topic> <next>`, `done <next>`, plus the payload's. */
  effects: string[];
  events: StreamEvent[];
  published: Array<{ outputs: readonly Output[]; deadLetters: readonly DeadLetterOut[] }>;
  done: Array<{ topic: string; partition: number; next: string }>;
  stateLost: number;
}

/** Parts of a recording context to replace, and the judge's freeze breaker. */
export type ContextOverrides = Partial<Omit<BatchContext, 'judge'>> & Pick<Partial<JudgeDeps>, 'breaker' | 'mode'>;

/** A batch context over `store` that records what it is asked to do; the judge's clock stands at `now`. */
export function recordingContext(store: StateStore, now: number, overrides: ContextOverrides = {}): Recorded {
  const { breaker, mode, ...parts } = overrides;
  const r: Recorded = { ctx: undefined as never, effects: [], events: [], published: [], done: [], stateLost: 0 };
  const marking = spyStore(store, (method, args, call) => {
    if (method === 'markApplied') {
      const [topic, next] = args as [string, ReadonlyMap<number, string>];
      r.effects.push(`applied ${topic} ${[...next.values()].join(',')}`);
    }
    return call();
  });
  r.ctx = {
    config: { topics: TOPICS, maxClockSkewSeconds: 300 },
    judge: { store: marking, mode: mode ?? 'enforce', now: () => now, breaker },
    publisher: {
      publish: async (outputs, deadLetters) => {
        r.effects.push('publish');
        r.published.push({ outputs, deadLetters });
        return outputs;
      },
    },
    events: { emit: (e) => r.events.push(e) },
    limits: { maxValueBytes: 4096, maxMembers: 10 },
    onStateLost: () => r.stateLost++,
    done: (topic, partition, next) => {
      r.effects.push(`done ${next}`);
      r.done.push({ topic, partition, next });
    },
    frontier: async () => ({ passed: true, waitedMs: 0 }),
    frontierReach: async (_ask, stamps) => stamps.length,
    ...parts,
  };
  return r;
}

/** Events of one type, in the order emitted. */
export function eventsOf<T extends StreamEvent['type']>(
  events: readonly StreamEvent[],
  type: T,
): Array<Extract<StreamEvent, { type: T }>> {
  return events.filter((e): e is Extract<StreamEvent, { type: T }> => e.type === type);
}

/** A promise and the functions that settle it, for holding a store call until the test lets it go. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
