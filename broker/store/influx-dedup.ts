// At-least-once ingest without duplicates in InfluxDB (issue #8). A reading
// can reach the store twice: its device retransmits after a crash took the
// PUBACK (perhaps to another gateway of the cluster), or a spool is replayed
// after a crash although its batch had been written. Both copies have the
// same device, ts and seq; the key is all three, because a device's seq
// starts again at 0 after a reboot while its clock moves on.
//
// Before writing, the store asks `history` (keyed by device and ts, with seq
// as a field) which of the batch's keys are there, and leaves those out.
// A history point never exists without its `points` entry: both go in one
// request, which InfluxDB applies at once when all its points fall in one
// shard group (nearly every batch), and otherwise `points` is written first.
// So the check can skip a duplicate, never lose a reading. What it cannot
// catch, and stores twice: readings without seq (or whose ts the gateway
// filled in, which differs per delivery); readings older than the retention
// policy (no history point); two copies written at the same moment by two
// gateways; and a batch across a shard-group boundary whose gateway crashed
// between its two requests.
// Pure: builds InfluxQL and reads its answers.
import type { Reading } from '../contract/telemetry.js';
import { HISTORY } from './influx-points.js';

/** Readings further apart in ts than this are asked for in separate time ranges, so one old straggler does not scan days. */
export const WINDOW_GAP_MS = 60_000;

export function readingKey(deviceId: string, ts: number, seq: number): string {
  return `${deviceId}\u0000${ts}\u0000${seq}`;
}

interface Window {
  from: number;
  to: number;
  devices: Set<string>;
}

/**
 * One statement per cluster of ts values, each over the batch's devices in
 * that range; no statement when no reading carries a seq (or all are older
 * than `cutoffMs`). Device ids are `[A-Za-z0-9_-]`, safe in a regex.
 */
export function duplicateQueries(readings: readonly Reading[], prefix: string, cutoffMs: number): string[] {
  const candidates = readings.filter((r) => r.seq !== null && r.ts >= cutoffMs).sort((a, b) => a.ts - b.ts);
  const windows: Window[] = [];
  for (const r of candidates) {
    const last = windows.at(-1);
    if (last && r.ts - last.to <= WINDOW_GAP_MS) {
      last.to = r.ts;
      last.devices.add(r.deviceId);
    } else {
      windows.push({ from: r.ts, to: r.ts, devices: new Set([r.deviceId]) });
    }
  }
  return windows.map((w) => `SELECT "seq" FROM ${prefix}${HISTORY} WHERE "device" =~ /^(?:${[...w.devices].join('|')})$/`
    + ` AND time >= ${w.from}ms AND time <= ${w.to}ms GROUP BY "device"`);
}

interface RawSeries {
  tags?: Record<string, string>;
  values: unknown[][];
}

/** Keys present in the answers to duplicateQueries (epoch ms; columns time, seq). */
export function storedKeys(results: ReadonlyArray<{ series?: RawSeries[] }>): Set<string> {
  const keys = new Set<string>();
  for (const result of results) {
    for (const series of result.series ?? []) {
      const device = series.tags?.device ?? '';
      for (const [time, seq] of series.values) {
        if (typeof seq === 'number') keys.add(readingKey(device, Number(time), seq));
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
