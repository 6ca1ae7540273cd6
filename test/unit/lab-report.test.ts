import { describe, expect, it } from 'vitest';
import { emptyCounters } from '../../dashboard/source.js';
import { checkDelivery, hopTable, markdownTable, summarize, type PhaseMeasure } from '../../lab/report.js';

const counts = (seqs: number[]) => new Map(seqs.map((s) => [s, 1]));

describe('compare delivery check', () => {
  it('finds nothing wrong when every seq in (from, to] came once, history included', () => {
    expect(checkDelivery([{ fromSeq: 3, toSeq: 6, delivered: counts([1, 2, 3, 4, 5, 6, 7]) }])).toEqual({ expected: 3, missing: 0, duplicates: 0 });
  });

  it('counts lost and duplicated readings over all clients', () => {
    const twice = new Map([[4, 2], [5, 3]]);
    expect(checkDelivery([
      { fromSeq: 3, toSeq: 6, delivered: twice },
      { fromSeq: 0, toSeq: 2, delivered: counts([2]) },
    ])).toEqual({ expected: 5, missing: 2, duplicates: 3 });
  });
});

function phase(overrides: Partial<PhaseMeasure>): PhaseMeasure {
  return {
    method: 'short-poll', clients: 2, windowMs: 10_000, cpuSeconds: 0.3,
    delta: { ...emptyCounters(), points: 40, backfilled: 0, requests: 20, responses: 20, emptyResponses: 5, bytes: 8000 },
    delays: Array.from({ length: 100 }, (_, i) => i + 1), staleness: [100, 300], hops: [[1], [50], [400, 500, 600]],
    delivery: { expected: 40, missing: 0, duplicates: 0 },
    ...overrides,
  };
}

describe('compare figures', () => {
  const baseline = { windowMs: 20_000, cpuSeconds: 0.2 };

  it('derives per-client rates, per-update bytes and CPU above the baseline', () => {
    const r = summarize(phase({}), baseline);
    expect(r.updates).toBe(40);
    expect(r.delayMs).toEqual({ p50: 50, p95: 95, p99: 99, max: 100, count: 100 });
    expect(r.stalenessMs).toEqual({ mean: 200, p95: 300 });
    expect(r.requestsPerSecondPerClient).toBe(1);
    expect(r.bytesPerUpdate).toBe(200);
    expect(r.emptyShare).toBe(0.25);
    // 0.3 s in the window minus 0.1 s of baseline for 10 s: 200 ms for 40 updates.
    expect(r.cpuMsPer1000Updates).toBeCloseTo(5000);
    expect(r.hopsMs).toEqual([
      { hop: 'device → broker', median: 1 }, { hop: 'broker → stored', median: 50 }, { hop: 'stored → delivered', median: 500 },
    ]);
  });

  it('has no empty share for push methods, and no per-update figures without updates', () => {
    const sse = summarize(phase({ method: 'sse' }), baseline);
    expect(sse.emptyShare).toBeNull();
    const none = summarize(phase({ method: 'mqtt-ws', delta: emptyCounters(), delays: [], staleness: [], hops: [[]] }), baseline);
    expect(none).toMatchObject({ bytesPerUpdate: null, cpuMsPer1000Updates: null, stalenessMs: { mean: null, p95: null } });
    expect(none.hopsMs).toEqual([{ hop: 'device → delivered', median: null }]);
  });

  it('prints one Markdown row per method with every column of the issue', () => {
    const results = [summarize(phase({}), baseline), summarize(phase({ method: 'mqtt-ws', hops: [[3]] }), baseline)];
    const table = markdownTable(results).split('\n');
    expect(table).toHaveLength(4);
    expect(table[0]).toBe('| method | delay p50 / p95 / p99 | staleness mean / p95 | requests/s per client | bytes per update, headers included | empty responses | gateway CPU ms per 1,000 updates | delivered exactly once |');
    expect(table[2]).toBe('| Short polling | 50 / 95 / 99 ms | 200 / 300 ms | 1.00 | 200 B | 25 % | 5000 | 40 of 40, 0 lost, 0 dup |');
    expect(table[3]).toMatch(/^\| MQTT over WebSocket \| .* \| — \| 5000 \|/);
    expect(hopTable(results).split('\n')[3]).toBe('| MQTT over WebSocket | — | — | — | 3 |');
  });
});
