// Pure figures for a panel: delay percentiles, the per-hop split, ratings.
// No clock is read here; callers pass the times in, so tests need no fake timers.

export interface DelaySummary {
  /** Samples summarised. */
  count: number;
  p50: number | null;
  p95: number | null;
  max: number | null;
  /** The most recent sample. */
  last: number | null;
}

const EMPTY_DELAYS: DelaySummary = Object.freeze({ count: 0, p50: null, p95: null, max: null, last: null });

/**
 * Nearest-rank percentile of ascending `sorted` (p in (0, 100]): always a value
 * that was measured, never an interpolation between two deliveries.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number | null {
  if (sorted.length === 0) return null;
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[rank - 1]!;
}

/** Summarises delays in arrival order (the last element is the newest). */
export function summarizeDelays(samples: readonly number[]): DelaySummary {
  if (samples.length === 0) return EMPTY_DELAYS;
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    count: samples.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    max: sorted[sorted.length - 1]!,
    last: samples[samples.length - 1]!,
  };
}

/** Appends to a sliding sample window, dropping the oldest beyond `max`. Returns the same array. */
export function pushBounded<T>(samples: T[], items: readonly T[], max: number): T[] {
  samples.push(...items);
  if (samples.length > max) samples.splice(0, samples.length - max);
  return samples;
}

/** Where a point's delay is spent. Points read from the store carry the gateway's stamps; live MQTT points do not. */
export type HopPath = 'stored' | 'live';

export const HOPS: Readonly<Record<HopPath, readonly string[]>> = {
  stored: ['device → broker', 'broker → stored', 'stored → delivered', 'delivered → drawn'],
  live: ['device → delivered', 'delivered → drawn'],
};

/** A delivered point's timestamps along the way. */
export interface Stamps {
  ts: number;
  receivedAt?: number;
  storedAt?: number;
  arrivedAt: number;
}

/**
 * The time spent in each hop of `HOPS[path]` (the last, to drawing, only with
 * `drawnAt`). Null when a stored-path point lacks the gateway's stamps. Clocks
 * of device, gateway and client are assumed to agree (one machine, or NTP).
 */
export function hopDurations(path: HopPath, p: Stamps, drawnAt?: number): number[] | null {
  const hops: number[] = [];
  if (path === 'live') {
    hops.push(p.arrivedAt - p.ts);
  } else {
    if (p.receivedAt === undefined || p.storedAt === undefined) return null;
    hops.push(p.receivedAt - p.ts, p.storedAt - p.receivedAt, p.arrivedAt - p.storedAt);
  }
  if (drawnAt !== undefined) hops.push(drawnAt - p.arrivedAt);
  return hops;
}

/** Median of each hop over bounded per-hop sample windows. */
export function hopMedians(samples: readonly (readonly number[])[]): (number | null)[] {
  return samples.map((s) => percentile([...s].sort((a, b) => a - b), 50));
}

export type Rating = 'low' | 'medium' | 'high';

/** Thresholds of the measured realtime-ness, on the p95 delay to drawing. */
const REALTIME_THRESHOLDS_MS = Object.freeze({ high: 250, medium: 1000 });

/** High: a person sees it as instant (p95 within 250 ms). Medium: within a second, one refresh tick. Low: slower. */
export function realtimeRating(p95Ms: number | null): Rating | null {
  if (p95Ms === null) return null;
  if (p95Ms <= REALTIME_THRESHOLDS_MS.high) return 'high';
  return p95Ms <= REALTIME_THRESHOLDS_MS.medium ? 'medium' : 'low';
}

/** A ratio, or null when the denominator is zero (a figure not defined yet, shown as a dash). */
export function ratio(numerator: number, denominator: number): number | null {
  return denominator > 0 ? numerator / denominator : null;
}
