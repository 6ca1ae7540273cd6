import { describe, expect, it } from 'vitest';
import { formatByteCount, formatBytes, formatCount, formatMs, NO_VALUE } from '../../dashboard/format.js';
import { percentile, pushBounded, ratePerSecond, summarizeDelays, trimSamples } from '../../dashboard/stats.js';

describe('dashboard delay statistics', () => {
  it('takes nearest-rank percentiles: always a measured value', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 95)).toBe(95);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile([10, 20, 30], 50)).toBe(20);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([], 50)).toBeNull();
  });

  it('refuses a percentile outside (0, 100]', () => {
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });

  it('summarises p50, p95, max and the newest sample without reordering the input', () => {
    const samples = [40, 10, 30, 20, 500];
    expect(summarizeDelays(samples)).toEqual({ count: 5, p50: 30, p95: 500, max: 500, last: 500 });
    expect(samples).toEqual([40, 10, 30, 20, 500]);
    expect(summarizeDelays([12, 3]).last).toBe(3);
  });

  it('summarises nothing as nulls', () => {
    expect(summarizeDelays([])).toEqual({ count: 0, p50: null, p95: null, max: null, last: null });
  });

  it('keeps a bounded window of the newest samples', () => {
    const window: number[] = [];
    pushBounded(window, [1, 2, 3], 4);
    pushBounded(window, [4, 5, 6], 4);
    expect(window).toEqual([3, 4, 5, 6]);
  });
});

describe('dashboard rates', () => {
  it('averages the increase per second across the samples', () => {
    expect(ratePerSecond([{ t: 0, value: 0 }, { t: 1000, value: 3 }, { t: 2000, value: 10 }])).toBe(5);
  });

  it('has no rate until two samples span time', () => {
    expect(ratePerSecond([])).toBeNull();
    expect(ratePerSecond([{ t: 0, value: 5 }])).toBeNull();
    expect(ratePerSecond([{ t: 0, value: 5 }, { t: 0, value: 6 }])).toBeNull();
  });

  it('trims to the window, keeping one sample at or before its start', () => {
    const samples = [0, 1000, 2000, 3000, 4000].map((t) => ({ t, value: t / 100 }));
    expect(trimSamples(samples, 4000, 2500).map((s) => s.t)).toEqual([1000, 2000, 3000, 4000]);
    expect(trimSamples(samples, 4000, 2000).map((s) => s.t)).toEqual([2000, 3000, 4000]);
    expect(trimSamples(samples.slice(0, 1), 4000, 1000)).toHaveLength(1);
  });
});

describe('dashboard figures', () => {
  it('formats delays in ms, long ones in s, missing ones as a dash', () => {
    expect(formatMs(12.4)).toBe('12 ms');
    expect(formatMs(9999)).toBe('9999 ms');
    expect(formatMs(12_345)).toBe('12.3 s');
    expect(formatMs(null)).toBe(NO_VALUE);
  });

  it('formats bytes in decimal units and counts with their rates', () => {
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(12_345)).toBe('12.3 kB');
    expect(formatBytes(5_000_000)).toBe('5.0 MB');
    expect(formatCount(120, null)).toBe('120');
    expect(formatCount(120, 1)).toBe('120 · 1.0/s');
    expect(formatByteCount(12_345, 120)).toBe('12.3 kB · 120 B/s');
  });
});
