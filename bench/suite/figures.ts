// The figures the scenarios produce: one name, unit and formatting each,
// shared by the scenarios, the table and the targets. Pure.
import type { Transport } from './loadgen/protocol.js';
import type { ScenarioId } from './options.js';

export interface FigureSpec {
  name: string;
  /** Decimals in the table. */
  digits: number;
  /** Which way is good, for reading the ratio; null: neither (context, e.g. RSS before). */
  better: 'higher' | 'lower' | null;
}

const spec = (name: string, digits: number, better: FigureSpec['better']): FigureSpec => ({ name, digits, better });

export const FIGURES = {
  received: spec('received msg/s', 0, 'higher'),
  published: spec('published msg/s', 0, 'higher'),
  acknowledged: spec('acknowledged msg/s', 0, 'higher'),
  delivered: spec('delivered %', 1, 'higher'),
  stored: spec('stored readings/s', 0, 'higher'),
  lost: spec('lost (acknowledged - stored)', 0, 'lower'),
  p50: spec('latency p50 ms', 2, 'lower'),
  p95: spec('latency p95 ms', 2, 'lower'),
  p99: spec('latency p99 ms', 2, 'lower'),
  max: spec('latency max ms', 2, 'lower'),
  deliveries: spec('deliveries/s', 0, 'higher'),
  kibPerConnection: spec('KiB per connection', 1, 'lower'),
  kibRetained: spec('KiB per connection after full GC', 1, 'lower'),
  rssBefore: spec('broker RSS before, MiB', 1, null),
  rssAfter: spec('broker RSS after, MiB', 1, null),
  connectRate: spec('connects/s', 0, 'higher'),
  held: spec('connections held', 0, 'higher'),
  perGib: spec('connections per GiB', 0, 'higher'),
} as const satisfies Record<string, FigureSpec>;

/** CPU of one run over its measured window, % of one core. */
export interface CpuFigures {
  broker: number;
  /** Each load process by role (pub, sub, idle), in start order. */
  load: { role: string; percent: number }[];
}

export interface RunResult {
  /** By FigureSpec name; null where this target has no such figure (Mosquitto stores nothing). */
  figures: Record<string, number | null>;
  cpu: CpuFigures;
}

/** One kind of run of a scenario, e.g. fan-in QoS 1 over WebSocket. */
export interface VariantInfo {
  scenario: ScenarioId;
  /** What distinguishes variants of one scenario besides the transport ('QoS 1', 'SQLite'); may be empty. */
  label: string;
  transport: Transport;
  figures: readonly FigureSpec[];
}

export function variantName(v: Pick<VariantInfo, 'scenario' | 'label'>): string {
  return v.label ? `${v.scenario} ${v.label}` : v.scenario;
}

export function variantKey(v: Pick<VariantInfo, 'scenario' | 'label' | 'transport'>): string {
  return `${variantName(v)} ${v.transport}`;
}
