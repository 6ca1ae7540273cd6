import { describe, expect, it } from 'vitest';
import { deviceId, payloadSeq, split, telemetryPayload, topicDeviceIndex } from '../../bench/suite/loadgen/protocol.js';
import { cpuPercent, joinLatencies, median, percentile, perSecond, summarizeLatency } from '../../bench/suite/stats.js';

describe('bench statistics', () => {
  it('takes the median of odd and even counts, null of none', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNull();
  });

  it('picks nearest-rank percentiles, values that occurred', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile([7], 1)).toBe(7);
    expect(() => percentile([], 50)).toThrow(RangeError);
  });

  it('summarizes latencies whatever their order', () => {
    expect(summarizeLatency([5, 1, 4, 2, 3])).toEqual({ count: 5, p50: 3, p95: 5, p99: 5, max: 5 });
    expect(summarizeLatency([])).toBeNull();
  });

  it('matches sends and receives by device and seq across processes', () => {
    const sends = [Float64Array.of(0, 1, 100, 0, 2, 110), Float64Array.of(7, 1, 105.5)];
    // Device 7's reading arrives first; device 0 seq 3 was sent before the window and is not in `sends`.
    const receives = [Float64Array.of(7, 1, 106.25, 0, 1, 102, 0, 3, 120, 0, 2, 111.5)];
    expect(joinLatencies(sends, receives)).toEqual([0.75, 2, 1.5]);
  });

  it('turns counts and CPU time into rates', () => {
    expect(perSecond(500, 2000)).toBe(250);
    expect(perSecond(5, 0)).toBe(0);
    expect(cpuPercent(1500, 1000)).toBe(150);
  });
});

describe('bench load protocol', () => {
  it('names devices with their index, readable back from the topic', () => {
    expect(deviceId(42)).toBe('bench-000042');
    expect(topicDeviceIndex(`devices/${deviceId(18_999)}/telemetry`)).toBe(18_999);
  });

  it('builds the gateway telemetry payload with whole-ms ts and reads its seq back', () => {
    const payload = telemetryPayload(1764323000123.75, 4711);
    expect(JSON.parse(payload)).toEqual({ ts: 1764323000123, seq: 4711, metrics: { temperature: 21.5, humidity: 40 } });
    expect(payloadSeq(payload)).toBe(4711);
  });

  it('splits work into near-equal runs with their first index', () => {
    expect(split([1, 2, 3, 4, 5], 2)).toEqual([{ items: [1, 2, 3], first: 0 }, { items: [4, 5], first: 3 }]);
    expect(split([1], 3)).toEqual([{ items: [1], first: 0 }]);
    expect(split(Array.from({ length: 19_000 }, (_, i) => i), 2).map((r) => r.items.length)).toEqual([9_500, 9_500]);
  });
});
