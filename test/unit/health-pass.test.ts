import { describe, expect, it } from 'vitest';
import { healthPass } from '../../src/monitor/health-pass.js';
import { Timers } from '../../src/monitor/timers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('healthPass', () => {
  it('runs every check each pass', async () => {
    const runs = [0, 0];
    const pass = healthPass([async () => void runs[0]!++, async () => void runs[1]!++], 1_000);
    await pass();
    await pass();
    expect(runs).toEqual([2, 2]);
  });

  it('waits for a hung check at most its bound, and does not start it again while it hangs', async () => {
    let hungStarts = 0;
    let release!: () => void;
    const hung = () => {
      hungStarts++;
      return new Promise<void>((resolve) => (release = resolve));
    };
    let quick = 0;
    const pass = healthPass([hung, async () => void quick++], 20);
    const started = Date.now();
    await pass();
    await pass();
    await pass();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect([hungStarts, quick]).toEqual([1, 3]);
    release();
    await sleep(0);
    await pass();
    expect([hungStarts, quick]).toEqual([2, 4]);
  });
});

describe('Timers', () => {
  it('repeats a loop until shutdown, and clears what is scheduled', async () => {
    let stopping = false;
    const timers = new Timers(() => stopping);
    let runs = 0;
    timers.repeat(5, async () => void runs++);
    let fired = false;
    timers.after(10_000, () => (fired = true));
    await sleep(40);
    stopping = true;
    timers.clear();
    const seen = runs;
    await sleep(30);
    expect(seen).toBeGreaterThan(1);
    expect([runs, fired]).toEqual([seen, false]);
  });
});
