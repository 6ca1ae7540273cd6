// The configured memory bound (MEMORY_LIMIT_MB). Sampling the resident set
// every 100 ms is cheap; past 90 % of the limit the broker admits no new
// QoS 0 and holds QoS 1/2 back until memory is below the line again, so a
// burst cannot grow the process without bound whatever its shape.
import type { Metrics } from './metrics.js';

export class MemoryGuard {
  private timer: NodeJS.Timeout | null = null;
  private over = false;

  constructor(
    private readonly limitBytes: number,
    private readonly metrics: Metrics,
    /** Called when pressure ends, to let held-back publishes in. */
    private readonly onRelief: () => void = () => {},
    private readonly rss: () => number = () => process.memoryUsage.rss(),
    private readonly intervalMs = 100,
  ) {}

  /** True while the process is above 90 % of its limit. */
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
    this.over = this.rss() > this.limitBytes * 0.9;
    this.metrics.memoryPressure.set(this.over ? 1 : 0);
    if (was && !this.over) this.onRelief();
  }
}
