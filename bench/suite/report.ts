// From the runs' samples to the printed table: the median of each figure
// over the repeats, the gateway/Mosquitto ratio, the targets beside it and
// the CPU of broker and load generators. Pure.
import type { CpuFigures, FigureSpec, RunResult, VariantInfo } from './figures.js';
import { variantKey, variantName } from './figures.js';
import type { GoalResult } from './goals.js';
import { median } from './stats.js';
import type { TargetKind } from './scenarios/scenario.js';

export interface Sample {
  variant: VariantInfo;
  target: TargetKind;
  repeat: number;
  result: RunResult | null;
  error: string | null;
}

export interface Row {
  variant: VariantInfo;
  figure: FigureSpec;
  gateway: number | null;
  mosquitto: number | null;
  /** gateway / mosquitto. */
  ratio: number | null;
  /** Median CPU per target; on the first row of each variant only. */
  cpu: Partial<Record<TargetKind, CpuFigures>> | null;
  /** Failed runs per target; on the first row of each variant only. */
  errors: Partial<Record<TargetKind, string[]>> | null;
}

function medianCpu(list: readonly CpuFigures[]): CpuFigures | null {
  if (list.length === 0) return null;
  // Repeats of one variant start the same load processes in the same order.
  return {
    broker: median(list.map((c) => c.broker))!,
    load: list[0]!.load.map((l, i) => ({ role: l.role, percent: median(list.map((c) => c.load[i]?.percent ?? 0))! })),
  };
}

export function buildRows(variants: readonly VariantInfo[], samples: readonly Sample[]): Row[] {
  const rows: Row[] = [];
  for (const variant of variants) {
    const key = variantKey(variant);
    const mine = samples.filter((s) => variantKey(s.variant) === key);
    const of = (target: TargetKind) => mine.filter((s) => s.target === target);
    const figureOf = (target: TargetKind, name: string) =>
      median(of(target).flatMap((s) => (s.result && s.result.figures[name] != null ? [s.result.figures[name]!] : [])));
    const cpu: Partial<Record<TargetKind, CpuFigures>> = {};
    const errors: Partial<Record<TargetKind, string[]>> = {};
    for (const target of ['gateway', 'mosquitto'] as const) {
      const c = medianCpu(of(target).flatMap((s) => (s.result ? [s.result.cpu] : [])));
      if (c) cpu[target] = c;
      const e = of(target).flatMap((s) => (s.error ? [s.error] : []));
      if (e.length > 0) errors[target] = e;
    }
    variant.figures.forEach((figure, i) => {
      const gateway = figureOf('gateway', figure.name);
      const mosquitto = figureOf('mosquitto', figure.name);
      const ratio = gateway !== null && mosquitto !== null && mosquitto !== 0 ? gateway / mosquitto : null;
      rows.push({ variant, figure, gateway, mosquitto, ratio, cpu: i === 0 ? cpu : null, errors: i === 0 ? errors : null });
    });
  }
  return rows;
}

export function formatNumber(value: number | null, digits: number): string {
  if (value === null) return '-';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function formatCpu(cpu: CpuFigures | undefined): string {
  if (!cpu) return '';
  const roles = new Map<string, string[]>();
  for (const { role, percent } of cpu.load) roles.set(role, [...(roles.get(role) ?? []), percent.toFixed(0)]);
  return [`broker ${cpu.broker.toFixed(0)}`, ...[...roles].map(([role, values]) => `${role} ${values.join('+')}`)].join(', ');
}

function cell(row: Row, target: TargetKind): string {
  const value = row[target];
  if (value === null && row.errors?.[target]) return 'error';
  return formatNumber(value, row.figure.digits);
}

export const TABLE_HEADER = ['scenario', 'transport', 'figure', 'gateway', 'mosquitto', 'gw/mq', 'target', 'CPU % gateway run', 'CPU % mosquitto run'];

export function tableCells(rows: readonly Row[], goals: readonly GoalResult[]): string[][] {
  return rows.map((row, i) => {
    const first = i === 0 || variantKey(rows[i - 1]!.variant) !== variantKey(row.variant);
    const goal = goals.find((g) => g.variantKey === variantKey(row.variant) && g.figure === row.figure.name);
    return [
      first ? variantName(row.variant) : '',
      first ? row.variant.transport : '',
      row.figure.name,
      cell(row, 'gateway'),
      cell(row, 'mosquitto'),
      row.ratio === null ? '' : `${row.ratio.toFixed(2)}x`,
      goal ? `${goal.pass === null ? 'n/a' : goal.pass ? 'PASS' : 'FAIL'} ${goal.rule}: ${goal.shown}` : '',
      formatCpu(row.cpu?.gateway),
      formatCpu(row.cpu?.mosquitto),
    ];
  });
}

/** A Markdown table whose columns line up in a terminal too. */
export function markdownTable(header: readonly string[], body: readonly string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((r) => (r[c] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((text, c) => text.padEnd(widths[c]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}
