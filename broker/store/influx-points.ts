// How readings map onto InfluxDB's data model (measurement, tag set, field
// set, time). One reading becomes, per metric, one point in each of two
// measurements of the same database, and one point in a third:
//
//   points   time = storage sequence (µs, see StorageClock)   tags: device, metric, node
//            fields: value (float), ts, received_at, stored_at (integer ms), seq (integer, absent when null)
//            The cursor log: `series` pages read it by time, which is commit
//            order per node (the gateway that wrote it, influx-cursor.ts).
//   history  time = the device's ts                            tags: device, metric
//            fields: value (float)
//            What `history` aggregates with GROUP BY time(step), bucketed by
//            when the device measured, as SQLite buckets by ts. No node tag:
//            whichever gateway stores a reading, it is the same history point.
//   seen     time = the device's ts, plus a sub-millisecond slot    no tags
//            fields: device (string), seq (integer)
//            One point per reading that has a seq: what a gateway asks
//            before writing, to store a reading that comes again only once
//            (influx-dedup.ts). One series, so that question reads one time
//            range instead of a series per device and metric.
//
// Two measurements for the values, because InfluxDB orders and indexes points
// by time only: a series keyed by device ts cannot answer "stored after
// cursor" (a reading replayed from the spool, or buffered by a device, arrives
// with an old ts), and a series keyed by storage time would put those
// readings in the wrong history bucket. In InfluxDB a point is identified by
// measurement, tag set and time, so in `history` a reading repeated with the
// same ts replaces the earlier one.
//
// Times are written in nanoseconds, as strings: the `seen` slot needs the
// digits below the microsecond, and nanoseconds since the epoch do not fit a
// JavaScript number exactly.
import { FieldType, type IPoint, type ISchemaOptions } from 'influx';
import type { Reading } from '../contract/telemetry.js';

export const POINTS = 'points';
export const HISTORY = 'history';
export const SEEN = 'seen';

/** Field types, so node-influx writes `ts=…i` integers and `value` always as a float (no type conflicts). */
export function schemas(database: string): ISchemaOptions[] {
  return [
    {
      database,
      measurement: POINTS,
      tags: ['device', 'metric', 'node'],
      fields: {
        value: FieldType.FLOAT,
        ts: FieldType.INTEGER,
        seq: FieldType.INTEGER,
        received_at: FieldType.INTEGER,
        stored_at: FieldType.INTEGER,
      },
    },
    { database, measurement: HISTORY, tags: ['device', 'metric'], fields: { value: FieldType.FLOAT } },
    { database, measurement: SEEN, tags: [], fields: { device: FieldType.STRING, seq: FieldType.INTEGER } },
  ];
}

/**
 * A reading's `seen` time in ns: its ts, plus one of a million slots below the
 * millisecond chosen by a hash (FNV-1a) of device and seq, so that readings of
 * one millisecond rarely share a point. When two do, the later overwrites the
 * earlier, whose copy, should it ever come again, is then stored twice; the
 * check compares device and seq, so it never takes one reading for another.
 */
export function seenTime(deviceId: string, ts: number, seq: number): string {
  let hash = 0x811c9dc5;
  for (const c of `${deviceId}\u0000${seq}`) hash = Math.imul(hash ^ c.charCodeAt(0), 0x01000193);
  return `${ts}${String((hash >>> 0) % 1_000_000).padStart(6, '0')}`;
}

/**
 * Hands out point times for `points`: microseconds since the epoch, strictly
 * increasing across batches and restarts. Microseconds, not nanoseconds, so a
 * time fits a JavaScript number exactly (2^53 µs is the year 2255) and InfluxDB
 * can return it as a JSON number with `epoch=u`. A batch takes one time per
 * point; the clock only runs ahead of the wall clock when more than 1,000
 * points are stored per millisecond, and never goes back when the wall clock does.
 */
export class StorageClock {
  private last = 0;

  constructor(private readonly now: () => number) {}

  /** Reserves `count` consecutive times; returns the first. */
  take(count: number): number {
    const first = Math.max(Math.floor(this.now() * 1000), this.last + 1);
    this.last = first + count - 1;
    return first;
  }

  /** Never hand out a time at or below one already in the database (e.g. written before a restart). */
  advancePast(time: number): void {
    this.last = Math.max(this.last, time);
  }
}

export function pointCount(readings: readonly Reading[]): number {
  let n = 0;
  for (const r of readings) n += Object.keys(r.metrics).length;
  return n;
}

export interface MappedBatch {
  points: IPoint[];
  /** History and `seen` points: never visible before `points`, since a `seen` point says its reading is stored. */
  marks: IPoint[];
  series: Array<{ deviceId: string; metric: string }>;
}

/**
 * Maps a batch to points. `first` is the storage time (µs) of the batch's
 * first point (the others follow in order). History and `seen` points older
 * than `historyCutoffMs` are left out: InfluxDB would refuse them as beyond
 * the retention policy, and that refusal fails the whole write request.
 */
export function toPoints(readings: readonly Reading[], first: number, storedAt: number, historyCutoffMs: number, node: string): MappedBatch {
  const points: IPoint[] = [];
  const marks: IPoint[] = [];
  const touched = new Map<string, { deviceId: string; metric: string }>();
  let time = first;
  for (const r of readings) {
    for (const metric in r.metrics) {
      const value = r.metrics[metric]!;
      const tags = { device: r.deviceId, metric };
      points.push({
        measurement: POINTS,
        tags: { ...tags, node },
        fields: { value, ts: r.ts, seq: r.seq, received_at: r.receivedAt, stored_at: storedAt },
        timestamp: `${time++}000`,
      });
      if (r.ts >= historyCutoffMs) marks.push({ measurement: HISTORY, tags, fields: { value }, timestamp: `${r.ts}000000` });
      touched.set(`${r.deviceId}\u0000${metric}`, { deviceId: r.deviceId, metric });
    }
    if (r.seq !== null && r.ts >= historyCutoffMs) {
      marks.push({ measurement: SEEN, fields: { device: r.deviceId, seq: r.seq }, timestamp: seenTime(r.deviceId, r.ts, r.seq) });
    }
  }
  return { points, marks, series: [...touched.values()] };
}
