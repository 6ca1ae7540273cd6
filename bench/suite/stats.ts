// The arithmetic of the figures: medians over repeats, latency percentiles,
// joining send and receive times, rates. Pure.

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest-rank percentile (p in 0..100] of values sorted ascending: a value that occurred, never an interpolation. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of no values');
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1]!;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function summarizeLatency(latencies: readonly number[]): LatencySummary | null {
  if (latencies.length === 0) return null;
  const sorted = Float64Array.from(latencies).sort();
  const values = Array.from(sorted);
  return { count: values.length, p50: percentile(values, 50), p95: percentile(values, 95), p99: percentile(values, 99), max: values.at(-1)! };
}

const SEQ_SPAN = 2 ** 32;

/**
 * Latency of every message sent and received: flat [deviceIndex, seq, time]
 * triples from the publishing and the receiving processes, matched by device
 * and seq. Receives of messages not in `sends` (sent outside the measured
 * window) are ignored.
 */
export function joinLatencies(sends: readonly Float64Array[], receives: readonly Float64Array[]): number[] {
  const sentAt = new Map<number, number>();
  for (const triples of sends) {
    for (let i = 0; i + 2 < triples.length; i += 3) sentAt.set(triples[i]! * SEQ_SPAN + triples[i + 1]!, triples[i + 2]!);
  }
  const latencies: number[] = [];
  for (const triples of receives) {
    for (let i = 0; i + 2 < triples.length; i += 3) {
      const sent = sentAt.get(triples[i]! * SEQ_SPAN + triples[i + 1]!);
      if (sent !== undefined) latencies.push(triples[i + 2]! - sent);
    }
  }
  return latencies;
}

export function perSecond(count: number, ms: number): number {
  return ms > 0 ? (count * 1000) / ms : 0;
}

/** CPU time over wall time as % of one core (200 = both cores of this machine). */
export function cpuPercent(cpuMs: number, wallMs: number): number {
  return wallMs > 0 ? (cpuMs / wallMs) * 100 : 0;
}

export function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
