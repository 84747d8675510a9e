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
  it('declares the ordering barrier: membership waits for approvals, messages for approvals and membership', () => {
    expect(consumerGroups(config).map((g) => [g.name, g.groupId, g.topics, g.waitsFor])).toEqual([
      ['approvals', 'pg.approvals', ['a'], []],
      ['membership', 'pg', ['m', 'c'], ['a']],
      ['messages', 'pg.messages', ['msg'], ['a', 'm']],
    ]);
    expect(barrierTopics(consumerGroups(config))).toEqual({ approvals: [], membership: ['a'], messages: ['a', 'm'] });
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
