import { describe, expect, it } from 'vitest';
import { gapsIn, MIN_GAP_MS, pointKey, RecentKeys, SeriesBuffer, type SeriesPoint } from '../../dashboard/series.js';

const p = (ts: number, seq: number | null = ts, value = ts / 10): SeriesPoint => ({ ts, value, seq });

function columns(buffer: SeriesBuffer): { ts: number[]; values: number[] } {
  const [ts, values] = buffer.columns();
  return { ts: Array.from(ts), values: Array.from(values) };
}

describe('dashboard series buffer', () => {
  it('returns columnar [ts[], value[]] in timestamp order', () => {
    const buffer = new SeriesBuffer({ capacity: 10 });
    buffer.push([p(1000), p(2000), p(3000)]);
    expect(columns(buffer)).toEqual({ ts: [1000, 2000, 3000], values: [100, 200, 300] });
    expect(buffer.seqs()).toEqual([1000, 2000, 3000]);
  });

  it('sorts late arrivals into place', () => {
    const buffer = new SeriesBuffer({ capacity: 10 });
    buffer.push([p(3000), p(1000)]);
    buffer.push([p(2000), p(4000), p(1500)]);
    expect(columns(buffer).ts).toEqual([1000, 1500, 2000, 3000, 4000]);
  });

  it('keeps equal timestamps in arrival order', () => {
    const buffer = new SeriesBuffer({ capacity: 10 });
    buffer.push([p(1000, 1, 1), p(1000, 2, 2), p(1000, 3, 3)]);
    expect(buffer.seqs()).toEqual([1, 2, 3]);
    expect(columns(buffer).values).toEqual([1, 2, 3]);
  });

  it('drops a redelivered point (same ts and seq) and returns only the kept ones', () => {
    const buffer = new SeriesBuffer({ capacity: 10 });
    expect(buffer.push([p(1000, 1), p(2000, 2)])).toHaveLength(2);
    const kept = buffer.push([p(2000, 2), p(1000, 1), p(3000, 3)]);
    expect(kept).toEqual([p(3000, 3)]);
    expect(buffer.seqs()).toEqual([1, 2, 3]);
  });

  it('keeps the same seq at another ts: the device restarted its counter', () => {
    const buffer = new SeriesBuffer({ capacity: 10 });
    buffer.push([p(1000, 0), p(5000, 0)]);
    expect(buffer.size).toBe(2);
  });

  it('dedupes by ts when the device sends no seq', () => {
    const buffer = new SeriesBuffer({ capacity: 10 });
    buffer.push([p(1000, null), p(1000, null), p(2000, null)]);
    expect(buffer.seqs()).toEqual([null, null]);
    expect(columns(buffer).ts).toEqual([1000, 2000]);
  });

  it('holds at most capacity points, dropping the oldest, across wrap-around', () => {
    const buffer = new SeriesBuffer({ capacity: 3 });
    for (let ts = 1; ts <= 7; ts++) buffer.push([p(ts * 1000)]);
    expect(columns(buffer).ts).toEqual([5000, 6000, 7000]);
    // A late point inside the range still goes in order while the ring is wrapped.
    buffer.push([p(6500)]);
    expect(columns(buffer).ts).toEqual([6000, 6500, 7000]);
  });

  it('ignores a point older than everything in a full buffer', () => {
    const buffer = new SeriesBuffer({ capacity: 2 });
    buffer.push([p(2000), p(3000)]);
    expect(buffer.push([p(1000)])).toEqual([]);
    expect(columns(buffer).ts).toEqual([2000, 3000]);
  });

  it('keeps only the window before the newest point', () => {
    const buffer = new SeriesBuffer({ capacity: 100, windowMs: 2000 });
    buffer.push([p(1000), p(2000), p(3000)]);
    expect(columns(buffer).ts).toEqual([1000, 2000, 3000]);
    buffer.push([p(4500)]);
    expect(columns(buffer).ts).toEqual([3000, 4500]);
    expect(buffer.push([p(2000)])).toEqual([]);
  });

  it('rejects non-finite timestamps and values', () => {
    const buffer = new SeriesBuffer({ capacity: 10 });
    expect(buffer.push([{ ts: Number.NaN, value: 1, seq: 1 }, { ts: 1, value: Number.POSITIVE_INFINITY, seq: 2 }])).toEqual([]);
    expect(buffer.size).toBe(0);
  });

  it('hands out copies, so later pushes do not change data already given to the chart', () => {
    const buffer = new SeriesBuffer({ capacity: 2 });
    buffer.push([p(1000), p(2000)]);
    const [ts] = buffer.columns();
    buffer.push([p(3000)]);
    expect(Array.from(ts)).toEqual([1000, 2000]);
  });

  it('clears', () => {
    const buffer = new SeriesBuffer({ capacity: 3 });
    buffer.push([p(1000), p(2000)]);
    buffer.clear();
    expect(buffer.size).toBe(0);
    expect(columns(buffer)).toEqual({ ts: [], values: [] });
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new SeriesBuffer({ capacity: 0 })).toThrow(RangeError);
    expect(() => new SeriesBuffer({ capacity: 1.5 })).toThrow(RangeError);
  });
});

describe('dashboard recent keys', () => {
  it('remembers keys, refusing one it holds', () => {
    const keys = new RecentKeys(3);
    expect(keys.add('a')).toBe(true);
    expect(keys.add('a')).toBe(false);
    expect(keys.add('b')).toBe(true);
    expect(keys.size).toBe(2);
  });

  it('forgets the oldest key beyond its capacity, and never holds more', () => {
    const keys = new RecentKeys(3);
    for (const k of ['a', 'b', 'c', 'd', 'e']) keys.add(k);
    expect(keys.size).toBe(3);
    expect(keys.add('a')).toBe(true);
    expect(keys.add('e')).toBe(false);
    for (let i = 0; i < 10_000; i++) keys.add(String(i));
    expect(keys.size).toBe(3);
  });

  it('keys a point by ts and seq, so a restarted counter is a new point', () => {
    expect(pointKey(p(1000, 5))).not.toBe(pointKey(p(2000, 5)));
    expect(pointKey(p(1000, 5))).toBe(pointKey({ ts: 1000, value: 7, seq: 5 }));
    expect(pointKey(p(1000, null))).not.toBe(pointKey(p(1000, 0)));
  });

  it('tells the newest timestamp held, for staleness', () => {
    const buffer = new SeriesBuffer({ capacity: 3 });
    expect(buffer.newestTs()).toBeNull();
    buffer.push([p(3000), p(1000)]);
    expect(buffer.newestTs()).toBe(3000);
  });
});

describe('dashboard chart gaps', () => {
  const everySecond = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i * 1000);

  it('breaks the line where readings stopped, not where they merely slowed', () => {
    // 1 reading/s, then the gateway was down for 3 minutes.
    const xs = [...everySecond(0, 30), ...everySecond(210_000, 30)];
    expect(gapsIn(xs)).toEqual([29]);
    // Within the visible range only, and with its indexes.
    expect(gapsIn(xs, 30, 59)).toEqual([]);
    expect(gapsIn(xs, 20, 40)).toEqual([29]);
    // Twice as slow for a while is no gap; nor is anything under MIN_GAP_MS.
    expect(gapsIn([...everySecond(0, 20), ...Array.from({ length: 10 }, (_, i) => 21_000 + i * 2000)])).toEqual([]);
    expect(gapsIn([0, 100, 200, 300, 300 + MIN_GAP_MS])).toEqual([]);
    expect(gapsIn([0, 100, 200, 300, 301 + MIN_GAP_MS])).toEqual([3]);
  });

  it('leaves series too short to judge, and event sensors at their usual spacing, joined', () => {
    expect(gapsIn([])).toEqual([]);
    expect(gapsIn([0, 60_000])).toEqual([]);
    // A door sensor: events 5-40 s apart.
    expect(gapsIn([0, 5_000, 45_000, 60_000, 90_000, 100_000, 130_000])).toEqual([]);
  });
});
