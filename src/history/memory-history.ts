/**
 * A history held in memory, laid out as Kafka would hold it: each topic split into partitions by
 * key, offsets in write order. Tests and the benchmark use it to drive the same merge and judge
 * as `pairguard audit` without a broker.
 */
import type { DecodeLimits } from '../events/decode.js';
import { routeOf } from '../events/routing.js';
import type { HistoryRecord, HistoryRole } from './history-record.js';
import { classify } from './history-record.js';

interface Partition {
  role: HistoryRole;
  topic: string;
  partition: number;
  keys: Array<string | null>;
  values: string[];
}

/** FNV-1a: any stable spread of keys over partitions will do; Kafka's own is murmur2. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export class MemoryHistory {
  private readonly parts = new Map<string, Partition>();
  private roundRobin = 0;

  constructor(
    readonly topics: Readonly<Record<HistoryRole, string>>,
    readonly partitions = 3,
  ) {}

  /** Appends a record with the partition its key picks. */
  add(role: HistoryRole, key: string | null, value: string): void {
    const partition = (key === null ? this.roundRobin++ : hash(key)) % this.partitions;
    const slot = `${role}/${partition}`;
    let p = this.parts.get(slot);
    if (!p) {
      p = { role, topic: this.topics[role], partition, keys: [], values: [] };
      this.parts.set(slot, p);
    }
    p.keys.push(key);
    p.values.push(value);
  }

  /** Appends an input event to the topic its type belongs to, keyed as the platform keys it. */
  addEvent(event: Record<string, unknown>): void {
    const route = routeOf(event);
    if (!route || route.role === 'alerts' || route.role === 'deadLetter')
      throw new Error(`not an input event: ${String(event.type)}`);
    this.add(route.role as HistoryRole, route.key, JSON.stringify(event));
  }

  get size(): number {
    let n = 0;
    for (const p of this.parts.values()) n += p.values.length;
    return n;
  }

  /** One ordered stream per partition, decoding as it goes. */
  streams(limits: DecodeLimits): Array<Iterable<HistoryRecord>> {
    return [...this.parts.values()].map((p) => ({
      *[Symbol.iterator]() {
        let previousAt = 0;
        for (let i = 0; i < p.values.length; i++) {
          const value = Buffer.from(p.values[i]!, 'utf8');
          const c = classify(p.role, value, limits, previousAt);
          previousAt = c.at;
          const key = p.keys[i];
          yield {
            role: p.role,
            topic: p.topic,
            partition: p.partition,
            offset: String(i),
            key: key === null || key === undefined ? null : Buffer.from(key),
            value,
            at: c.at,
            timed: c.timed,
            content: c.content,
          };
        }
      },
    }));
  }
}
