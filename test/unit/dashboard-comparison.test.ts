import { describe, expect, it } from 'vitest';
import { comparisonRows, hopRows } from '../../dashboard/comparison.js';
import { METHODS } from '../../dashboard/methods.js';
import type { PanelFigures } from '../../dashboard/panel-model.js';
import { emptyCounters } from '../../dashboard/source.js';

function figures(p50: number, p95: number, hops: (number | null)[], extra: Partial<PanelFigures> = {}): PanelFigures {
  return {
    delays: { count: 10, p50, p95, max: p95, last: p50 },
    stalenessMs: 300, updatesPerSecond: 1, requestsPerSecond: 1, bytesPerSecond: 300,
    bytesPerUpdate: 300, updatesPerRequest: 1, emptyShare: 0.25, hops, counters: emptyCounters(), ...extra,
  };
}

describe('dashboard comparison', () => {
  const measured = new Map<string, PanelFigures>([
    ['short-poll', figures(600, 1100, [1, 50, 500, 2])],
    ['long-poll', figures(60, 120, [1, 50, 5, 4])],
    ['mqtt-ws', figures(5, 30, [3, 2], { requestsPerSecond: 0, updatesPerRequest: 40, emptyShare: null })],
  ]);

  it('puts the taught rating next to the measured one for each method, in METHODS order', () => {
    const rows = comparisonRows(METHODS, measured, { 'poll-source.ts': 62, 'live-source.ts': 190, 'continuity.ts': 50 });
    expect(rows.map((r) => r.id)).toEqual(['short-poll', 'long-poll', 'sse', 'mqtt-ws']);
    expect(rows.map((r) => [r.realtime.taught, r.realtime.measured])).toEqual([
      ['low', 'low'], ['medium', 'high'], ['high', null], ['high', 'high'],
    ]);
    expect(rows[0]!.realtime.detail).toBe('p50 600 ms · p95 1100 ms · stale 300 ms');
    expect(rows[0]!.serverLoad.detail).toBe('1.0 req/s · 300 B per update · 1.0 updates per request · 25 % empty; holds nothing between requests');
    expect(rows[0]!.complexity.detail).toBe('62 lines of client code; handles a cursor and a timer');
    expect(rows[2]!.realtime.detail).toBe('p50 — · p95 — · stale —');
    expect(rows[3]!.serverLoad.detail).not.toMatch(/empty/);
    expect(rows[3]!.serverLoad.taught).toBe('low');
    // A method's size is the sum of its own modules; without a count for one of them, none is shown.
    expect(rows[3]!.complexity.detail).toMatch(/^240 lines of client code; handles a viewer token/);
    expect(rows[1]!.complexity.detail).toMatch(/^handles /);
  });

  it('splits the delay by hop: four hops through the store, two for live MQTT, totals summed', () => {
    const rows = hopRows(METHODS, measured);
    expect(rows[0]!.hops.map((h) => h.label)).toEqual(['device → broker', 'broker → stored', 'stored → delivered', 'delivered → drawn']);
    expect(rows[0]!.total).toBe(553);
    expect(rows[2]!.total).toBeNull();
    expect(rows[3]!.hops).toEqual([{ label: 'device → delivered', ms: 3 }, { label: 'delivered → drawn', ms: 2 }]);
  });
});
