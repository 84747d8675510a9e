import { describe, expect, it } from 'vitest';
import { barrierTopics, consumerGroups } from '../../src/stream/consumer-groups.js';
import { recordsBehind } from '../../src/stream/records-behind.js';

const config = {
  groupId: 'pg',
  topics: {
    approvals: 'a',
    membership: 'm',
    messages: 'msg',
    control: 'c',
    alerts: 'al',
    deadLetter: 'dl',
  },
};

describe('consumerGroups', () => {
  it('declares the event-time frontier: every judge waits for the facts of every input topic, never the control topic', () => {
    expect(consumerGroups(config).map((g) => [g.name, g.groupId, g.topics, g.waitsFor])).toEqual([
      ['approvals', 'pg.approvals', ['a'], ['a', 'm', 'msg']],
      ['membership', 'pg', ['m', 'c'], ['a', 'm', 'msg']],
      ['messages', 'pg.messages', ['msg'], ['a', 'm', 'msg']],
    ]);
    const inputs = ['a', 'm', 'msg'];
    expect(barrierTopics(consumerGroups(config))).toEqual({ approvals: inputs, membership: inputs, messages: inputs });
  });
});

describe('recordsBehind', () => {
  const w = (partition: number, low: number, high: number) => ({ partition, low: String(low), high: String(high) });

  it('counts the records below each high watermark that the positions have not passed', () => {
    expect(recordsBehind([w(0, 0, 10), w(1, 0, 5)], new Map([[0, 7n]]))).toBe(3n + 5n);
  });

  it('counts a partition without a position from its low watermark, and one at or past its end as none', () => {
    expect(recordsBehind([w(0, 4, 10), w(1, 0, 5)], new Map([[1, 5n]]))).toBe(6n);
    expect(recordsBehind([w(0, 0, 3)], new Map([[0, 9n]]))).toBe(0n);
  });
});
