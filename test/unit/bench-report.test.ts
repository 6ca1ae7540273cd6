import { describe, expect, it } from 'vitest';
import { FIGURES, type RunResult, type VariantInfo } from '../../bench/suite/figures.js';
import { evaluateGoals } from '../../bench/suite/goals.js';
import { mosquittoConfig } from '../../bench/suite/mosquitto.js';
import { buildRows, formatCpu, markdownTable, tableCells, TABLE_HEADER, type Sample } from '../../bench/suite/report.js';
import type { TargetKind } from '../../bench/suite/scenarios/scenario.js';

const fanInTcp: VariantInfo = { scenario: 'fan-in', label: 'QoS 1', transport: 'tcp', figures: [FIGURES.received, FIGURES.lost] };
const fanInWs: VariantInfo = { ...fanInTcp, transport: 'ws' };
const idleTcp: VariantInfo = { scenario: 'idle', label: '', transport: 'tcp', figures: [FIGURES.kibRetained, FIGURES.kibPerConnection] };
const ingestTcp: VariantInfo = { scenario: 'ingest', label: 'SQLite', transport: 'tcp', figures: [FIGURES.stored, FIGURES.lost] };

function result(figures: RunResult['figures'], broker = 90): RunResult {
  return { figures, cpu: { broker, load: [{ role: 'sub', percent: 50 }, { role: 'pub', percent: 40 }, { role: 'pub', percent: 45 }] } };
}

function sample(variant: VariantInfo, target: TargetKind, r: RunResult | null, repeat = 1): Sample {
  return { variant, target, repeat, result: r, error: r ? null : 'gateway exited' };
}

describe('bench rows', () => {
  it('takes the median over repeats per target, and the gateway/Mosquitto ratio', () => {
    const rows = buildRows([fanInTcp], [
      sample(fanInTcp, 'gateway', result({ [FIGURES.received.name]: 100, [FIGURES.lost.name]: 0 }, 80), 1),
      sample(fanInTcp, 'mosquitto', result({ [FIGURES.received.name]: 80, [FIGURES.lost.name]: null }, 60), 1),
      sample(fanInTcp, 'gateway', result({ [FIGURES.received.name]: 140, [FIGURES.lost.name]: 0 }, 100), 2),
      sample(fanInTcp, 'mosquitto', result({ [FIGURES.received.name]: 120, [FIGURES.lost.name]: null }, 70), 2),
      sample(fanInTcp, 'gateway', result({ [FIGURES.received.name]: 120, [FIGURES.lost.name]: 2 }, 90), 3),
      sample(fanInTcp, 'mosquitto', result({ [FIGURES.received.name]: 100, [FIGURES.lost.name]: null }, 65), 3),
    ]);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ gateway: 120, mosquitto: 100, ratio: 1.2 });
    expect(rows[0]!.cpu?.gateway?.broker).toBe(90);
    expect(rows[1]).toMatchObject({ gateway: 0, mosquitto: null, ratio: null, cpu: null });
  });

  it('keeps failed runs as errors and leaves their figures empty', () => {
    const rows = buildRows([fanInTcp], [sample(fanInTcp, 'gateway', null), sample(fanInTcp, 'mosquitto', result({ [FIGURES.received.name]: 80 }))]);
    expect(rows[0]).toMatchObject({ gateway: null, mosquitto: 80, ratio: null, errors: { gateway: ['gateway exited'] } });
    expect(tableCells(rows, [])[0]!.slice(3, 5)).toEqual(['error', '80']);
  });

  it('prints CPU per role, processes of one role joined', () => {
    expect(formatCpu(result({}).cpu)).toBe('broker 90, sub 50, pub 40+45');
  });

  it('lines up a Markdown table', () => {
    expect(markdownTable(['a', 'bb'], [['xyz', '1']])).toBe('| a   | bb |\n|-----|----|\n| xyz | 1  |');
  });
});

describe('bench targets (issue #9)', () => {
  const samples = [
    sample(fanInTcp, 'gateway', result({ [FIGURES.received.name]: 50_000 })),
    sample(fanInTcp, 'mosquitto', result({ [FIGURES.received.name]: 40_000 })),
    sample(fanInWs, 'gateway', result({ [FIGURES.received.name]: 16_000 })),
    sample(fanInWs, 'mosquitto', result({ [FIGURES.received.name]: 10_000 })),
    // The memory target is judged on the retained figure (after a full GC), not the growth as it is.
    sample(idleTcp, 'gateway', result({ [FIGURES.kibRetained.name]: 9.5, [FIGURES.kibPerConnection.name]: 14 })),
    sample(idleTcp, 'mosquitto', result({ [FIGURES.kibRetained.name]: 0.6, [FIGURES.kibPerConnection.name]: 0.6 })),
    sample(ingestTcp, 'gateway', result({ [FIGURES.stored.name]: 61_000, [FIGURES.lost.name]: 0 })),
  ];
  const rows = buildRows([fanInTcp, fanInWs, idleTcp, ingestTcp], samples);
  const goals = evaluateGoals(rows);

  it('judges ratios against Mosquitto over TCP, whatever the gateway transport', () => {
    expect(goals.find((g) => g.variantKey === 'fan-in QoS 1 tcp')).toMatchObject({ pass: true, shown: '1.25x' });
    // 16,000 / Mosquitto TCP's 40,000, not / Mosquitto WS's 10,000.
    expect(goals.find((g) => g.variantKey === 'fan-in QoS 1 ws')).toMatchObject({ pass: false, shown: '0.40x' });
  });

  it('judges absolute targets on the gateway alone, ingest with zero loss', () => {
    expect(goals.find((g) => g.variantKey === 'idle tcp')).toMatchObject({ pass: false, shown: '9.5' });
    expect(goals.find((g) => g.variantKey === 'ingest SQLite tcp')).toMatchObject({ pass: true, shown: '61,000/s, 0 lost' });
  });

  it('lists only targets of scenarios that ran, not measured without Mosquitto', () => {
    expect(goals.map((g) => g.variantKey)).toEqual(['fan-in QoS 1 tcp', 'fan-in QoS 1 ws', 'idle tcp', 'ingest SQLite tcp']);
    const alone = evaluateGoals(buildRows([fanInTcp], [sample(fanInTcp, 'gateway', result({ [FIGURES.received.name]: 1 }))]));
    expect(alone).toEqual([expect.objectContaining({ pass: null, shown: 'not measured' })]);
  });

  it('prints each target beside its gateway row', () => {
    const cells = tableCells(rows, goals);
    expect(cells[0]).toEqual(expect.arrayContaining(['fan-in QoS 1', 'tcp', 'received msg/s', '50,000', '40,000', '1.25x', 'PASS >= 1.0x mosquitto tcp: 1.25x']));
    expect(cells.every((c) => c.length === TABLE_HEADER.length)).toBe(true);
  });
});

describe('mosquitto config', () => {
  it('listens on the given ports, anonymous, unthrottled, websockets only when asked', () => {
    const both = mosquittoConfig(1883, 9001);
    expect(both).toMatch(/^listener 1883 127\.0\.0\.1$/m);
    expect(both).toMatch(/^listener 9001 127\.0\.0\.1\nprotocol websockets$/m);
    expect(both).toMatch(/^allow_anonymous true$/m);
    expect(both).toMatch(/^persistence false$/m);
    expect(both).toMatch(/^max_inflight_messages 0$/m);
    expect(mosquittoConfig(1883, null)).not.toMatch(/websockets/);
  });
});
