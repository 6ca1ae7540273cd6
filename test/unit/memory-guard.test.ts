import { afterEach, describe, expect, it } from 'vitest';
import { MemoryGuard, type MemorySample } from '../../broker/memory-guard.js';
import { createMetrics } from '../../broker/metrics.js';

const MiB = 2 ** 20;
let guard: MemoryGuard | undefined;
afterEach(() => guard?.stop());

/** A guard with a 1,000 MiB limit whose samples are `now.sample`; `tick` takes one. */
function setup() {
  const now: { sample: MemorySample } = { sample: { rss: 100 * MiB, heapUsed: 50 * MiB } };
  let reliefs = 0;
  const metrics = createMetrics();
  // A long interval: each start() takes exactly one sample.
  guard = new MemoryGuard(1000 * MiB, metrics, () => reliefs++, () => now.sample, 3_600_000);
  const tick = () => {
    guard!.stop();
    guard!.start();
  };
  return { now, tick, reliefs: () => reliefs, guard, metrics };
}

describe('MemoryGuard', () => {
  it('is under pressure past 90 % of the limit with at least half of it heap in use, and calls relief when that ends', async () => {
    const { now, tick, reliefs, guard, metrics } = setup();
    tick();
    expect(guard.pressure).toBe(false);
    now.sample = { rss: 950 * MiB, heapUsed: 600 * MiB };
    tick();
    expect(guard.pressure).toBe(true);
    expect((await metrics.memoryPressure.get()).values[0]!.value).toBe(1);
    now.sample = { rss: 880 * MiB, heapUsed: 600 * MiB };
    tick();
    expect(guard.pressure).toBe(false);
    expect(reliefs()).toBe(1);
  });

  it('is not under pressure when the resident size is high but the heap in use is not: holding publishes back would free nothing', () => {
    const { now, tick, guard } = setup();
    // A heap that grew once and keeps its pages: the stall seen with 10,000 devices.
    now.sample = { rss: 950 * MiB, heapUsed: 420 * MiB };
    tick();
    expect(guard.pressure).toBe(false);
  });
});
