import { describe, expect, it } from 'vitest';
import type { ConsumerObservation, PartitionPosition } from '../../src/observability/liveness.js';
import { ProgressWatch } from '../../src/observability/liveness.js';

const at = (committed: number, high: number, partition = 0): PartitionPosition => ({
  topic: 'kids.approvals',
  partition,
  committed: BigInt(committed),
  high: BigInt(high),
});
const approvals = (positions: PartitionPosition[] | null, excused: string | null = null): ConsumerObservation[] => [
  { name: 'approvals', positions, excused },
];

describe('ProgressWatch', () => {
  it('stalls a consumer whose committed offset stays put for the whole stall time while records wait', () => {
    const w = new ProgressWatch(1_000);
    w.observe(0, approvals([at(5, 10)]), true);
    w.observe(999, approvals([at(5, 10)]), true);
    expect(w.stalled('approvals')).toBeNull();
    w.observe(1_000, approvals([at(5, 10)]), true);
    expect(w.stalled('approvals')).toBe(
      'approvals consumer judged nothing for 1 s while kids.approvals has records it has not committed',
    );
    expect(w.reason(['approvals', 'membership'])).toMatch(/^approvals consumer judged nothing/);
  });

  it('any committed progress restarts the clock of that partition', () => {
    const w = new ProgressWatch(1_000);
    w.observe(0, approvals([at(5, 10)]), true);
    w.observe(900, approvals([at(6, 10)]), true);
    w.observe(1_800, approvals([at(6, 12)]), true);
    expect(w.stalled('approvals')).toBeNull();
    w.observe(1_900, approvals([at(6, 12)]), true);
    expect(w.stalled('approvals')).not.toBeNull();
  });

  it('a partition moving does not hide another that does not', () => {
    const w = new ProgressWatch(1_000);
    w.observe(0, approvals([at(5, 10, 0), at(0, 10, 1)]), true);
    w.observe(1_500, approvals([at(5, 10, 0), at(7, 10, 1)]), true);
    expect(w.stalled('approvals')).not.toBeNull();
  });

  it('never stalls with nothing to judge, while excused, or while a dependency is down', () => {
    const w = new ProgressWatch(1_000);
    w.observe(0, approvals([at(10, 10)]), true);
    w.observe(5_000, approvals([at(10, 10)]), true);
    expect(w.stalled('approvals')).toBeNull();

    w.observe(6_000, approvals([at(10, 20)], 'held'), true);
    w.observe(9_000, approvals([at(10, 20)], 'held'), true);
    expect(w.stalled('approvals')).toBeNull();
    // Released: the clock starts when it is no longer excused.
    w.observe(9_500, approvals([at(10, 20)]), true);
    expect(w.stalled('approvals')).toBeNull();
    w.observe(10_500, approvals([at(10, 20)]), true);
    expect(w.stalled('approvals')).not.toBeNull();

    w.observe(11_000, approvals([at(10, 20)]), false);
    expect(w.stalled('approvals')).toBeNull();
    w.observe(11_500, approvals(null), true);
    w.observe(13_000, approvals([at(10, 20)]), true);
    expect(w.stalled('approvals')).toBeNull();
  });
});
