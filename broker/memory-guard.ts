// The configured memory bound (MEMORY_LIMIT_MB). Sampling memory every 100 ms
// is cheap; past 90 % of the limit the broker admits no new QoS 0 and holds
// QoS 1/2 back until memory is below the line again, so a burst cannot grow
// the process without bound whatever its shape.
//
// Pressure also needs the JavaScript heap to hold at least half the limit:
// holding publishes back frees heap (parsed packets, queued readings), nothing
// else. Without that condition the guard could hold everything for good: V8
// keeps the pages of a heap that grew once, and with nothing admitted there is
// too little allocation to trigger the collection that would return them, so
// the resident size stays above the line (seen on a 10,000-device fleet with
// the old 512 MiB default: RSS 594 MiB of which 215 MiB heap in use, stalled).
import type { Metrics } from './metrics.js';

export interface MemorySample {
  rss: number;
  heapUsed: number;
}

function processMemory(): MemorySample {
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed };
}

export class MemoryGuard {
  private timer: NodeJS.Timeout | null = null;
  private over = false;

  constructor(
    private readonly limitBytes: number,
    private readonly metrics: Metrics,
    /** Called when pressure ends, to let held-back publishes in. */
    private readonly onRelief: () => void = () => {},
    private readonly measure: () => MemorySample = processMemory,
    private readonly intervalMs = 100,
  ) {}

  /** True while the process is above 90 % of its limit, at least half of it heap in use. */
  get pressure(): boolean {
    return this.over;
  }

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private sample(): void {
    const was = this.over;
    const { rss, heapUsed } = this.measure();
    this.over = rss > this.limitBytes * 0.9 && heapUsed > this.limitBytes * 0.5;
    this.metrics.memoryPressure.set(this.over ? 1 : 0);
    if (was && !this.over) this.onRelief();
  }
}
