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
import type { Logger } from 'pino';
import type { Metrics } from './metrics.js';

export interface MemorySample {
  rss: number;
  heapUsed: number;
}

function processMemory(): MemorySample {
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed };
}

export interface MemoryGuardOptions {
  limitBytes: number;
  metrics: Metrics;
  /** Told when publishes start and stop being held back: devices stall then, and the metric alone is easy to miss. */
  logger: Logger;
  /** Called when pressure ends, to let held-back publishes in. */
  onRelief?: () => void;
  measure?: () => MemorySample;
  intervalMs?: number;
  now?: () => number;
}

const MiB = 2 ** 20;

/**
 * Pressure can come and go with each collection (heap in use dips below the
 * line, publishes flow, it rises again), so the log speaks of episodes: one
 * warning when holding starts, one line once it has not held for this long.
 */
const QUIET_MS = 5_000;

function inMiB({ rss, heapUsed }: MemorySample, limitBytes: number) {
  return { rssMiB: Math.round(rss / MiB), heapUsedMiB: Math.round(heapUsed / MiB), limitMiB: Math.round(limitBytes / MiB) };
}

export class MemoryGuard {
  private timer: NodeJS.Timeout | null = null;
  private over = false;
  /** The episode being reported: when it started, how many times it held, since when it has not. */
  private episode: { since: number; holds: number; clearSince: number | null } | null = null;
  private readonly measure: () => MemorySample;
  private readonly now: () => number;

  constructor(private readonly opts: MemoryGuardOptions) {
    this.measure = opts.measure ?? processMemory;
    this.now = opts.now ?? Date.now;
  }

  /** True while the process is above 90 % of its limit, at least half of it heap in use. */
  get pressure(): boolean {
    return this.over;
  }

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.opts.intervalMs ?? 100);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private sample(): void {
    const { limitBytes, metrics } = this.opts;
    const was = this.over;
    const memory = this.measure();
    this.over = memory.rss > limitBytes * 0.9 && memory.heapUsed > limitBytes * 0.5;
    metrics.memoryPressure.set(this.over ? 1 : 0);
    this.report(was, memory);
    if (was && !this.over) this.opts.onRelief?.();
  }

  private report(was: boolean, memory: MemorySample): void {
    const { limitBytes, logger } = this.opts;
    const now = this.now();
    const episode = this.episode;
    if (this.over) {
      if (!episode) {
        this.episode = { since: now, holds: 1, clearSince: null };
        logger.warn(inMiB(memory, limitBytes), 'memory past 90 % of MEMORY_LIMIT_MB, half of it heap in use: holding publishes back');
        return;
      }
      if (!was) episode.holds++;
      episode.clearSince = null;
      return;
    }
    if (!episode) return;
    episode.clearSince ??= now;
    if (now - episode.clearSince < QUIET_MS) return;
    this.episode = null;
    logger.info(
      { ...inMiB(memory, limitBytes), heldMs: episode.clearSince - episode.since, holds: episode.holds },
      `memory pressure off for ${QUIET_MS / 1000} s: publishes are admitted again`,
    );
  }
}
