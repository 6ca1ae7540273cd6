// The targets of issue #9 item 4, judged on a run's rows. Ratios are against
// Mosquitto over TCP, whatever transport the gateway's figure is over. Pure.
import { FIGURES, variantKey, type FigureSpec } from './figures.js';
import type { Transport } from './loadgen/protocol.js';
import type { ScenarioId } from './options.js';
import { formatNumber, type Row } from './report.js';
import type { TargetKind } from './scenarios/scenario.js';

export const HOLD_TARGET = 19_000;
export const INGEST_TARGET = 50_000;
export const KIB_PER_CONNECTION_TARGET = 8;

export interface GoalResult {
  /** The gateway row it is printed beside. */
  variantKey: string;
  figure: string;
  rule: string;
  /** null: not measured (the scenario ran without Mosquitto, or the run failed). */
  pass: boolean | null;
  shown: string;
}

interface At {
  scenario: ScenarioId;
  label: string;
  transport: Transport;
}

export function evaluateGoals(rows: readonly Row[]): GoalResult[] {
  const find = (at: At, figure: FigureSpec) => rows.find((r) => variantKey(r.variant) === variantKey(at) && r.figure.name === figure.name);
  const value = (at: At, figure: FigureSpec, target: TargetKind) => find(at, figure)?.[target] ?? null;
  const results: GoalResult[] = [];

  /** gateway(at) / mosquitto(at over TCP) compared with `bound`. */
  const ratio = (at: At, figure: FigureSpec, op: '>=' | '<=', bound: number) => {
    if (!find(at, figure)) return;
    const gw = value(at, figure, 'gateway');
    const mq = value({ ...at, transport: 'tcp' }, figure, 'mosquitto');
    const r = gw !== null && mq !== null && mq > 0 ? gw / mq : null;
    results.push({
      variantKey: variantKey(at),
      figure: figure.name,
      rule: `${op === '>=' ? '>=' : '<='} ${bound.toFixed(1)}x mosquitto tcp`,
      pass: r === null ? null : op === '>=' ? r >= bound : r <= bound,
      shown: r === null ? 'not measured' : `${r.toFixed(2)}x`,
    });
  };
  /** An absolute figure of the gateway. */
  const absolute = (at: At, figure: FigureSpec, rule: string, check: (v: number) => boolean, shown = (v: number) => formatNumber(v, figure.digits)) => {
    if (!find(at, figure)) return;
    const v = value(at, figure, 'gateway');
    results.push({ variantKey: variantKey(at), figure: figure.name, rule, pass: v === null ? null : check(v), shown: v === null ? 'not measured' : shown(v) });
  };

  ratio({ scenario: 'fan-in', label: 'QoS 1', transport: 'tcp' }, FIGURES.received, '>=', 1.0);
  ratio({ scenario: 'fan-in', label: 'QoS 0', transport: 'ws' }, FIGURES.received, '>=', 0.5);
  ratio({ scenario: 'fan-in', label: 'QoS 1', transport: 'ws' }, FIGURES.received, '>=', 0.5);
  ratio({ scenario: 'fixed-rate', label: '', transport: 'tcp' }, FIGURES.p99, '<=', 2);
  ratio({ scenario: 'fixed-rate', label: '', transport: 'ws' }, FIGURES.p99, '<=', 4);
  // Judged on what the connections hold: the growth as it is also counts garbage of the connects (both are printed).
  absolute({ scenario: 'idle', label: '', transport: 'tcp' }, FIGURES.kibRetained, `<= ${KIB_PER_CONNECTION_TARGET} KiB`, (v) => v <= KIB_PER_CONNECTION_TARGET);
  absolute({ scenario: 'hold', label: '', transport: 'tcp' }, FIGURES.held, `>= ${formatNumber(HOLD_TARGET, 0)}`, (v) => v >= HOLD_TARGET);
  const sqlite: At = { scenario: 'ingest', label: 'SQLite', transport: 'tcp' };
  const lost = value(sqlite, FIGURES.lost, 'gateway');
  absolute(sqlite, FIGURES.stored, `>= ${formatNumber(INGEST_TARGET, 0)}/s, 0 lost`, (v) => v >= INGEST_TARGET && lost === 0,
    (v) => `${formatNumber(v, 0)}/s, ${formatNumber(lost, 0)} lost`);
  return results;
}
