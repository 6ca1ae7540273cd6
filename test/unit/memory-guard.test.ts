import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryGuard, type MemorySample } from '../../broker/memory-guard.js';
import { createMetrics } from '../../broker/metrics.js';

const MiB = 2 ** 20;
let guard: MemoryGuard | undefined;
afterEach(() => guard?.stop());

/** A guard with a 1,000 MiB limit whose samples are `now.sample` at `now.ms`; `tick` takes one. */
function setup() {
  const now: { sample: MemorySample; ms: number } = { sample: { rss: 100 * MiB, heapUsed: 50 * MiB }, ms: 0 };
  let reliefs = 0;
  const metrics = createMetrics();
  const lines: Array<{ level: number; msg: string; rssMiB: number; heapUsedMiB: number; limitMiB: number; heldMs?: number; holds?: number }> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  guard = new MemoryGuard({
    limitBytes: 1000 * MiB,
    metrics,
    logger,
    onRelief: () => reliefs++,
    measure: () => now.sample,
    // A long interval: each start() takes exactly one sample.
    intervalMs: 3_600_000,
    now: () => now.ms,
  });
  const tick = () => {
    guard!.stop();
    guard!.start();
  };
  return { now, tick, reliefs: () => reliefs, guard, metrics, lines };
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

  it('logs one warning when it starts holding publishes back, and one line once it has not held for 5 s, however often it flaps between', () => {
    const { now, tick, lines, reliefs } = setup();
    const at = (ms: number, rssMiB: number) => {
      now.ms = ms;
      now.sample = { rss: rssMiB * MiB, heapUsed: 600 * MiB };
      tick();
    };
    at(0, 500);
    expect(lines).toEqual([]);
    at(100, 950);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, rssMiB: 950, heapUsedMiB: 600, limitMiB: 1000 });
    expect(lines[0]!.msg).toMatch(/holding publishes back/);
    // A collection frees enough, publishes flow, memory rises again: held twice more.
    at(200, 880);
    at(300, 950);
    at(400, 880);
    at(500, 950);
    at(600, 880);
    at(5_000, 880);
    expect(lines).toHaveLength(1);
    expect(reliefs()).toBe(3);
    at(5_600, 870);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ level: 30, rssMiB: 870, heldMs: 500, holds: 3 });
    expect(lines[1]!.msg).toMatch(/admitted again/);
    at(5_700, 870);
    expect(lines).toHaveLength(2);
  });

  it('is not under pressure when the resident size is high but the heap in use is not: holding publishes back would free nothing', () => {
    const { now, tick, guard } = setup();
    // A heap that grew once and keeps its pages: the stall seen with 10,000 devices.
    now.sample = { rss: 950 * MiB, heapUsed: 420 * MiB };
    tick();
    expect(guard.pressure).toBe(false);
  });
});
