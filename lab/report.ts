// Pure: turns what a phase measured into the comparison's figures, checks that
// every client got every reading exactly once, and writes the Markdown table.
import { methodInfo, type MethodId } from '../dashboard/methods.js';
import type { SourceCounters } from '../dashboard/source.js';
import { hopMedians, HOPS, percentile } from '../dashboard/stats.js';

/** One client's deliveries: seq -> how often it was delivered; it had to get every seq in (fromSeq, toSeq]. */
export interface ClientDeliveries {
  fromSeq: number;
  toSeq: number;
  delivered: ReadonlyMap<number, number>;
}

export interface DeliveryCheck {
  /** Readings the clients had to get, summed over clients. */
  expected: number;
  missing: number;
  /** Extra deliveries of a seq already delivered (backfill included). */
  duplicates: number;
}

export function checkDelivery(clients: readonly ClientDeliveries[]): DeliveryCheck {
  let expected = 0;
  let missing = 0;
  let duplicates = 0;
  for (const c of clients) {
    for (let seq = c.fromSeq + 1; seq <= c.toSeq; seq++) {
      expected++;
      if (!c.delivered.has(seq)) missing++;
    }
    for (const times of c.delivered.values()) duplicates += Math.max(0, times - 1);
  }
  return { expected, missing, duplicates };
}

/** CPU time of a window with no clients: the cost of ingest alone, subtracted from every method. */
export interface Baseline {
  windowMs: number;
  cpuSeconds: number;
}

/** What one method's phase measured, summed over its clients. */
export interface PhaseMeasure {
  method: MethodId;
  clients: number;
  windowMs: number;
  cpuSeconds: number;
  /** Counter increase over the window. */
  delta: SourceCounters;
  /** Device ts to delivery, ms, of each update delivered in the window. */
  delays: number[];
  /** Age of each client's newest point, sampled through the window, ms. */
  staleness: number[];
  /** Samples of each hop in HOPS[path] (without drawing: there is none in Node). */
  hops: number[][];
  delivery: DeliveryCheck;
}

export interface MethodResult {
  method: MethodId;
  title: string;
  clients: number;
  windowMs: number;
  updates: number;
  delayMs: { p50: number | null; p95: number | null; p99: number | null; max: number | null; count: number };
  stalenessMs: { mean: number | null; p95: number | null };
  requestsPerSecondPerClient: number;
  /** Bytes received per update, HTTP headers and framing included. */
  bytesPerUpdate: number | null;
  /** Share of series responses without a point; null for methods that do not poll. */
  emptyShare: number | null;
  /** Gateway CPU above the ingest-only baseline, per 1,000 updates delivered. */
  cpuMsPer1000Updates: number | null;
  hopsMs: { hop: string; median: number | null }[];
  delivery: DeliveryCheck;
}

function sorted(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

export function summarize(m: PhaseMeasure, baseline: Baseline): MethodResult {
  const info = methodInfo(m.method);
  const updates = m.delta.points - m.delta.backfilled;
  const delays = sorted(m.delays);
  const stale = sorted(m.staleness);
  const seconds = m.windowMs / 1000;
  const cpuAboveBaseline = m.cpuSeconds - (baseline.cpuSeconds * m.windowMs) / baseline.windowMs;
  const polls = info.id === 'short-poll' || info.id === 'long-poll';
  const medians = hopMedians(m.hops);
  return {
    method: m.method,
    title: info.title,
    clients: m.clients,
    windowMs: m.windowMs,
    updates,
    delayMs: {
      p50: percentile(delays, 50), p95: percentile(delays, 95), p99: percentile(delays, 99),
      max: delays.at(-1) ?? null, count: delays.length,
    },
    stalenessMs: {
      mean: stale.length === 0 ? null : stale.reduce((a, b) => a + b, 0) / stale.length,
      p95: percentile(stale, 95),
    },
    requestsPerSecondPerClient: m.delta.requests / seconds / m.clients,
    bytesPerUpdate: updates > 0 ? (m.delta.bytes - m.delta.backfillBytes) / updates : null,
    emptyShare: polls && m.delta.responses > 0 ? m.delta.emptyResponses / m.delta.responses : null,
    cpuMsPer1000Updates: updates > 0 ? (cpuAboveBaseline * 1000 * 1000) / updates : null,
    hopsMs: HOPS[info.path].slice(0, -1).map((hop, i) => ({ hop, median: medians[i] ?? null })),
    delivery: m.delivery,
  };
}

const ms = (v: number | null) => (v === null ? '—' : String(Math.round(v)));

function bytes(v: number | null): string {
  return v === null ? '—' : `${Math.round(v)} B`;
}

export function markdownTable(results: readonly MethodResult[]): string {
  const rows = results.map((r) => {
    const d = r.delivery;
    const once = `${d.expected - d.missing} of ${d.expected}, ${d.missing} lost, ${d.duplicates} dup`;
    return [
      r.title,
      `${ms(r.delayMs.p50)} / ${ms(r.delayMs.p95)} / ${ms(r.delayMs.p99)} ms`,
      `${ms(r.stalenessMs.mean)} / ${ms(r.stalenessMs.p95)} ms`,
      r.requestsPerSecondPerClient.toFixed(2),
      bytes(r.bytesPerUpdate),
      r.emptyShare === null ? '—' : `${Math.round(r.emptyShare * 100)} %`,
      r.cpuMsPer1000Updates === null ? '—' : r.cpuMsPer1000Updates.toFixed(0),
      once,
    ];
  });
  const header = [
    'method', 'delay p50 / p95 / p99', 'staleness mean / p95', 'requests/s per client',
    'bytes per update, headers included', 'empty responses', 'gateway CPU ms per 1,000 updates', 'delivered exactly once',
  ];
  return [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

/** The delay split by hop (median ms): stored methods have gateway stamps, live MQTT only device -> delivered. */
export function hopTable(results: readonly MethodResult[]): string {
  const hops = [...new Set(results.flatMap((r) => r.hopsMs.map((h) => h.hop)))];
  const rows = results.map((r) => [r.title, ...hops.map((hop) => {
    const found = r.hopsMs.find((h) => h.hop === hop);
    return found ? ms(found.median) : '—';
  })]);
  const header = ['method (median ms)', ...hops];
  return [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}
