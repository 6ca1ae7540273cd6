// Pure figures for a panel: delivery delay percentiles and per-second rates.
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

export const EMPTY_DELAYS: DelaySummary = Object.freeze({ count: 0, p50: null, p95: null, max: null, last: null });

/**
 * Nearest-rank percentile of ascending `sorted` (p in (0, 100]): always a value
 * that was measured, never an interpolation between two deliveries.
 */
export function percentile(sorted: readonly number[], p: number): number | null {
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

/** A cumulative counter read at time `t` (ms). */
export interface CounterSample {
  t: number;
  value: number;
}

/** Keeps the samples of the last `windowMs` (plus the one just before it, so the window is always spanned). */
export function trimSamples(samples: readonly CounterSample[], now: number, windowMs: number): CounterSample[] {
  let first = 0;
  while (first + 1 < samples.length && samples[first + 1]!.t <= now - windowMs) first++;
  return samples.slice(first);
}

/** Average increase per second between the first and last sample; null until two samples span time. */
export function ratePerSecond(samples: readonly CounterSample[]): number | null {
  if (samples.length < 2) return null;
  const first = samples[0]!;
  const last = samples[samples.length - 1]!;
  const seconds = (last.t - first.t) / 1000;
  return seconds > 0 ? (last.value - first.value) / seconds : null;
}
