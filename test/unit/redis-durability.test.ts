import { describe, expect, it } from 'vitest';
import { checkDurability } from '../../src/state/redis-durability.js';

describe('Redis durability check', () => {
  it.each([
    'allkeys-lru',
    'allkeys-lfu',
    'allkeys-random',
    'volatile-lru',
    'volatile-lfu',
    'volatile-random',
    'volatile-ttl',
  ])('refuses a node whose maxmemory-policy is %s, naming it', (policy) => {
    expect(() =>
      checkDurability([
        { node: 'a:1', evictionPolicy: 'noeviction', aof: true },
        { node: 'b:2', evictionPolicy: policy, aof: true },
      ]),
    ).toThrow(`invalid REDIS_URL: Redis b:2 evicts keys under memory pressure (maxmemory-policy ${policy})`);
  });

  it('accepts noeviction, and reports the nodes without an append-only file', () => {
    expect(
      checkDurability([
        { node: 'a:1', evictionPolicy: 'noeviction', aof: true },
        { node: 'b:2', evictionPolicy: 'noeviction', aof: false },
      ]).map((n) => n.node),
    ).toEqual(['b:2']);
  });
});
