import { describe, expect, it } from 'vitest';
import { inRequests } from '../../src/stream/produce-requests.js';

const msg = (i: number, bytes: number) => ({ key: `k${i}`, value: 'v'.repeat(bytes) });
const bytesOf = (r: Array<{ messages: Array<{ key: string; value: string }> }>) =>
  r.flatMap((t) => t.messages).reduce((n, m) => n + m.key.length + m.value.length + 64, 0);

describe('produce requests', () => {
  it('keep one request when everything fits', () => {
    const topics = [
      { topic: 'a', messages: [msg(1, 10)] },
      { topic: 'b', messages: [msg(2, 10), msg(3, 10)] },
    ];
    expect(inRequests(topics, 1000)).toEqual([topics]);
  });

  it('split a run of dead letters that would make a batch the broker refuses, keeping every message in order', () => {
    const messages = Array.from({ length: 600 }, (_, i) => msg(i, 2_500));
    const requests = inRequests(
      [
        { topic: 'alerts', messages: [msg(-1, 100)] },
        { topic: 'dead', messages },
      ],
      256 * 1024,
    );
    expect(requests.length).toBeGreaterThan(5);
    for (const r of requests) expect(bytesOf(r as never)).toBeLessThanOrEqual(256 * 1024);
    expect(requests[0]![0]).toEqual({ topic: 'alerts', messages: [msg(-1, 100)] });
    expect(
      requests
        .flat()
        .filter((t) => t.topic === 'dead')
        .flatMap((t) => t.messages),
    ).toEqual(messages);
  });

  it('send a message larger than the bound alone', () => {
    const requests = inRequests([{ topic: 't', messages: [msg(1, 10), msg(2, 5000), msg(3, 10)] }], 1000);
    expect(requests.map((r) => r.flatMap((t) => t.messages.map((m) => m.key)))).toEqual([['k1'], ['k2'], ['k3']]);
  });

  it('send nothing for nothing', () => {
    expect(inRequests([])).toEqual([]);
  });
});
