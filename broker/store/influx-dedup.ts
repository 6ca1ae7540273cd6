// At-least-once ingest without duplicates in InfluxDB (issue #8). A reading
// can reach the store twice: its device retransmits after a crash took the
// PUBACK (perhaps to another gateway of the cluster), or a spool is replayed
// after a crash although its batch had been written. Both copies have the
// same device, ts and seq; the key is all three, because a device's seq
// starts again at 0 after a reboot while its clock moves on.
//
// Before writing, the store asks the `seen` measurement (one point per stored
// reading, at its ts; influx-points.ts) which of the batch's keys are there,
// and leaves those out. A `seen` point never exists without its `points`
// entries: both go in one request, which InfluxDB applies at once when all its
// points fall in one shard group (nearly every batch), and otherwise `points`
// is written first. So the check can skip a duplicate, never lose a reading.
// What it cannot catch, and stores twice: readings without seq (or whose ts
// the gateway filled in, which differs per delivery); readings older than the
// retention policy (no `seen` point); two copies written at the same moment by
// two gateways; a batch across a shard-group boundary whose gateway crashed
// between its two requests; and the rare reading whose `seen` point another
// reading of the same millisecond overwrote (influx-points.ts, seenTime).
// Pure: builds InfluxQL and reads its answers.
import type { Reading } from '../contract/telemetry.js';
import { SEEN } from './influx-points.js';

/**
 * Readings further apart in ts than this are asked for in separate time
 * ranges: `seen` holds every device's readings, so a range costs what the
 * whole fleet stored in it, and one straggler must not stretch it.
 */
export const WINDOW_GAP_MS = 1_000;

export function readingKey(deviceId: string, ts: number, seq: number): string {
  return `${deviceId}\u0000${ts}\u0000${seq}`;
}

/** One statement per cluster of ts values; none when no reading carries a seq (or all are older than `cutoffMs`). */
export function duplicateQueries(readings: readonly Reading[], prefix: string, cutoffMs: number): string[] {
  const ts = readings.filter((r) => r.seq !== null && r.ts >= cutoffMs).map((r) => r.ts).sort((a, b) => a - b);
  const windows: Array<{ from: number; to: number }> = [];
  for (const t of ts) {
    const last = windows.at(-1);
    if (last && t - last.to <= WINDOW_GAP_MS) last.to = t;
    else windows.push({ from: t, to: t });
  }
  // Nanoseconds: a reading's `seen` point lies within the millisecond of its ts.
  return windows.map((w) => `SELECT "device", "seq" FROM ${prefix}${SEEN} WHERE time >= ${w.from}000000 AND time < ${w.to + 1}000000`);
}

interface RawSeries {
  columns: string[];
  values: unknown[][];
}

/** Keys present in the answers to duplicateQueries (epoch ms). */
export function storedKeys(results: ReadonlyArray<{ series?: RawSeries[] }>): Set<string> {
  const keys = new Set<string>();
  for (const result of results) {
    for (const series of result.series ?? []) {
      const [time, device, seq] = ['time', 'device', 'seq'].map((c) => series.columns.indexOf(c));
      for (const row of series.values) {
        if (typeof row[device!] === 'string' && typeof row[seq!] === 'number') {
          keys.add(readingKey(row[device!] as string, Math.floor(Number(row[time!])), row[seq!] as number));
        }
      }
    }
  }
  return keys;
}

/** The readings to write: neither in `stored` nor an earlier copy in this batch. */
export function freshReadings(readings: readonly Reading[], stored: ReadonlySet<string>): Reading[] {
  const seen = new Set<string>();
  return readings.filter((r) => {
    if (r.seq === null) return true;
    const key = readingKey(r.deviceId, r.ts, r.seq);
    if (stored.has(key) || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
