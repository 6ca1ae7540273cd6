// What one panel knows, without the DOM: the chart's buffer, the delay and
// per-hop samples, and the counter history behind its rates. Every collection
// is bounded, so a lab left open for hours at 10 updates/s holds as much as
// one left open for a minute.
import { SeriesBuffer } from './series.js';
import type { SourceCounters, SourcePoint } from './source.js';
import {
  hopDurations,
  hopMedians,
  HOPS,
  pushBounded,
  ratio,
  summarizeDelays,
  type DelaySummary,
  type HopPath,
} from './stats.js';

export interface PanelLimits {
  /** Points the chart keeps. */
  capacity: number;
  /** Time span the chart keeps, ms before its newest point. */
  windowMs: number;
  /** Delay (and per-hop) samples the percentiles are taken over. */
  delaySamples: number;
  /** Span the rates and per-update figures are taken over, ms. */
  rateWindowMs: number;
}

/** The panel's live figures; null where there is no value yet. */
export interface PanelFigures {
  delays: DelaySummary;
  /** Age of the newest point shown, now. */
  stalenessMs: number | null;
  updatesPerSecond: number | null;
  requestsPerSecond: number | null;
  bytesPerSecond: number | null;
  /** Bytes per update over the rate window, history loads left out. */
  bytesPerUpdate: number | null;
  /** Updates (history loads left out) per HTTP request, over the source's life. */
  updatesPerRequest: number | null;
  /** Share of series responses without a point, 0..1. */
  emptyShare: number | null;
  /** Median of each hop in HOPS[path]. */
  hops: (number | null)[];
  counters: SourceCounters;
}

interface Sample {
  t: number;
  c: SourceCounters;
}

export class PanelModel {
  readonly buffer: SeriesBuffer;
  private delays: number[] = [];
  private hopSamples: number[][];
  private samples: Sample[] = [];

  constructor(readonly path: HopPath, readonly limits: PanelLimits) {
    this.buffer = new SeriesBuffer({ capacity: limits.capacity, windowMs: limits.windowMs });
    this.hopSamples = HOPS[path].map(() => []);
  }

  reset(): void {
    this.buffer.clear();
    this.delays = [];
    this.hopSamples = HOPS[this.path].map(() => []);
    this.samples = [];
  }

  /** Adds delivered points to the chart; returns those whose drawing should be measured (kept, not backfill). */
  accept(points: readonly SourcePoint[], backfill: boolean): SourcePoint[] {
    const kept = this.buffer.push(points);
    return backfill ? [] : kept;
  }

  /** Records delays for points the chart has just drawn. */
  drawn(points: readonly SourcePoint[], drawnAt: number): void {
    pushBounded(this.delays, points.map((p) => drawnAt - p.ts), this.limits.delaySamples);
    for (const p of points) {
      const hops = hopDurations(this.path, p, drawnAt);
      if (hops) hops.forEach((ms, i) => pushBounded(this.hopSamples[i]!, [ms], this.limits.delaySamples));
    }
  }

  /** Reads the source's counters into the rate window; called on a steady tick. */
  sample(t: number, counters: SourceCounters): void {
    this.samples.push({ t, c: counters });
    let first = 0;
    while (first + 1 < this.samples.length && this.samples[first + 1]!.t <= t - this.limits.rateWindowMs) first++;
    if (first > 0) this.samples.splice(0, first);
  }

  figures(now: number, counters: SourceCounters): PanelFigures {
    const newest = this.buffer.newestTs();
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const seconds = first && last ? (last.t - first.t) / 1000 : 0;
    const delta = (pick: (c: SourceCounters) => number) => (first && last ? pick(last.c) - pick(first.c) : 0);
    const liveUpdates = delta((c) => c.points - c.backfilled);
    const perSecond = (n: number) => (seconds > 0 ? n / seconds : null);
    return {
      delays: summarizeDelays(this.delays),
      stalenessMs: newest === null ? null : Math.max(0, now - newest),
      updatesPerSecond: perSecond(liveUpdates),
      requestsPerSecond: perSecond(delta((c) => c.requests)),
      bytesPerSecond: perSecond(delta((c) => c.bytes)),
      bytesPerUpdate: ratio(delta((c) => c.bytes - c.backfillBytes), liveUpdates),
      updatesPerRequest: ratio(counters.points - counters.backfilled, counters.requests),
      emptyShare: ratio(counters.emptyResponses, counters.responses),
      hops: hopMedians(this.hopSamples),
      counters,
    };
  }

  /** Sizes of everything the model holds, for the bounded-memory test. */
  get held(): { points: number; delays: number; hopSamples: number; samples: number } {
    return {
      points: this.buffer.size,
      delays: this.delays.length,
      hopSamples: Math.max(...this.hopSamples.map((s) => s.length)),
      samples: this.samples.length,
    };
  }
}
