import { describe, expect, it } from 'vitest';
import { formatBytes, formatCount, formatMs, formatPercent, formatRate, formatRatio, NO_VALUE, tickLabels } from '../../dashboard/format.js';
import { hopDurations, hopMedians, percentile, pushBounded, ratio, realtimeRating, summarizeDelays } from '../../dashboard/stats.js';

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

describe('dashboard delay split', () => {
  const stored = { ts: 1000, receivedAt: 1002, storedAt: 1050, arrivedAt: 1400 };

  it('splits a stored point into device → broker → stored → delivered → drawn', () => {
    expect(hopDurations('stored', stored, 1416)).toEqual([2, 48, 350, 16]);
    expect(hopDurations('stored', stored)).toEqual([2, 48, 350]);
  });

  it('splits a live point into device → delivered → drawn, ignoring stamps it may carry', () => {
    expect(hopDurations('live', { ts: 1000, arrivedAt: 1004 }, 1010)).toEqual([4, 6]);
    expect(hopDurations('live', stored)).toEqual([400]);
  });

  it('has no split for a stored-path point without the gateway stamps', () => {
    expect(hopDurations('stored', { ts: 1000, arrivedAt: 1400 }, 1416)).toBeNull();
  });

  it('takes the median of each hop', () => {
    expect(hopMedians([[5, 1, 3], [], [10]])).toEqual([3, null, 10]);
  });
});

describe('dashboard ratings', () => {
  it('rates realtime-ness on the p95 delay: high within 250 ms, medium within 1 s, low beyond', () => {
    expect(realtimeRating(null)).toBeNull();
    expect(realtimeRating(250)).toBe('high');
    expect(realtimeRating(251)).toBe('medium');
    expect(realtimeRating(1000)).toBe('medium');
    expect(realtimeRating(1001)).toBe('low');
  });

  it('has no ratio over zero', () => {
    expect(ratio(3, 2)).toBe(1.5);
    expect(ratio(3, 0)).toBeNull();
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
    expect(formatRate(1234)).toBe('1.2 kB/s');
  });

  it('labels axis ticks with the decimals their step needs, so neighbours never read the same', () => {
    expect(tickLabels([94.217, 94.2175, 94.218], 0.0005)).toEqual(['94.2170', '94.2175', '94.2180']);
    expect(tickLabels([0, 2.5, 5], 2.5)).toEqual(['0.0', '2.5', '5.0']);
    expect(tickLabels([0.1, 0.2, 0.1 + 0.2], 0.1)).toEqual(['0.1', '0.2', '0.3']);
    expect(tickLabels([1000, 1500], 500)).toEqual(['1,000', '1,500']);
    expect(tickLabels([2e-7, 3e-7], 1e-7)).toEqual(['0.0000002', '0.0000003']);
  });

  it('formats shares as whole percentages and ratios with one decimal below 10', () => {
    expect(formatPercent(0.456)).toBe('46 %');
    expect(formatPercent(null)).toBe(NO_VALUE);
    expect(formatRatio(0.96)).toBe('1.0');
    expect(formatRatio(31.5)).toBe('32');
    expect(formatRatio(null)).toBe(NO_VALUE);
    expect(formatRatio(Number.POSITIVE_INFINITY)).toBe(NO_VALUE);
  });
});
