import { describe, expect, it } from 'vitest';
import { PanelModel, type PanelLimits } from '../../dashboard/panel-model.js';
import { emptyCounters, type SourceCounters, type SourcePoint } from '../../dashboard/source.js';

const LIMITS: PanelLimits = { capacity: 2000, windowMs: 5 * 60_000, delaySamples: 600, rateWindowMs: 10_000 };
const T0 = 1_764_000_000_000;

/** A stored point measured at `ts`, through the gateway in 2 + 48 ms, delivered `late` ms after storing. */
const point = (seq: number, ts: number, late = 100): SourcePoint =>
  ({ ts, value: seq, seq, receivedAt: ts + 2, storedAt: ts + 50, arrivedAt: ts + 50 + late });

describe('dashboard panel model', () => {
  it('holds a bounded amount however long it runs: ten minutes at 10 updates/s', () => {
    const model = new PanelModel('stored', LIMITS);
    const counters = emptyCounters();
    for (let i = 0; i < 6000; i++) {
      const t = T0 + i * 100;
      const p = point(i, t);
      const kept = model.accept([p], false);
      model.drawn(kept, p.arrivedAt + 5);
      counters.points++;
      if (i % 5 === 0) model.sample(t, { ...counters });
    }
    const held = model.held;
    expect(held.points).toBe(LIMITS.capacity);
    expect(held.delays).toBe(LIMITS.delaySamples);
    expect(held.hopSamples).toBe(LIMITS.delaySamples);
    // One sample every 500 ms over a 10 s window, plus the one at its start.
    expect(held.samples).toBeLessThanOrEqual(22);
    expect(model.buffer.seqs().at(-1)).toBe(5999);
  });

  it('measures drawn points only, leaving backfill out of the delays', () => {
    const model = new PanelModel('stored', LIMITS);
    expect(model.accept([point(1, T0), point(2, T0 + 1000)], true)).toEqual([]);
    const kept = model.accept([point(3, T0 + 2000), point(3, T0 + 2000)], false);
    expect(kept).toHaveLength(1);
    model.drawn(kept, T0 + 2000 + 150 + 10);
    const f = model.figures(T0 + 2500, emptyCounters());
    expect(model.buffer.size).toBe(3);
    expect(f.delays).toMatchObject({ count: 1, p50: 160, max: 160 });
    expect(f.hops).toEqual([2, 48, 100, 10]);
    expect(f.stalenessMs).toBe(500);
  });

  it('computes rates and per-update figures over the window, leaving history loads out', () => {
    const model = new PanelModel('live', LIMITS);
    const at = (points: number, backfilled: number, bytes: number, backfillBytes: number, requests: number): SourceCounters =>
      ({ ...emptyCounters(), points, backfilled, bytes, backfillBytes, requests, responses: requests, emptyResponses: 1 });
    model.sample(T0, at(100, 100, 50_000, 50_000, 2));
    model.sample(T0 + 10_000, at(120, 100, 52_000, 50_000, 2));
    const f = model.figures(T0 + 10_000, at(120, 100, 52_000, 50_000, 2));
    expect(f.updatesPerSecond).toBe(2);
    expect(f.requestsPerSecond).toBe(0);
    expect(f.bytesPerSecond).toBe(200);
    expect(f.bytesPerUpdate).toBe(100);
    expect(f.updatesPerRequest).toBe(10);
    expect(f.emptyShare).toBe(0.5);
    expect(f.hops).toEqual([null, null]);
  });

  it('has no figures before anything happened, and starts over on reset', () => {
    const model = new PanelModel('stored', LIMITS);
    const empty = model.figures(T0, emptyCounters());
    expect(empty).toMatchObject({ stalenessMs: null, updatesPerSecond: null, bytesPerUpdate: null, updatesPerRequest: null, emptyShare: null });
    model.accept([point(1, T0)], false);
    model.reset();
    expect(model.held).toEqual({ points: 0, delays: 0, hopSamples: 0, samples: 0 });
  });
});
