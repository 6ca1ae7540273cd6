// The InfluxDB store, over InfluxDB's v1 HTTP API with the `influx` client:
// line-protocol writes, InfluxQL reads. Works against InfluxDB 1.x and against
// 2.x/3.x through their v1 compatibility endpoints. The mapping of readings to
// measurements is in influx-points.ts.
//
// Cursor semantics (the same as SQLite's: pass back the cursor, get every
// point stored since, exactly once). InfluxDB has no row ids and no
// transactions, so the cursor is a point's time in `points`, which this store
// assigns itself as a storage sequence (StorageClock). "time > cursor" is exact
// because of three rules:
//   1. Times grow in commit order. This process is the only writer, the ingest
//      path has one batch in flight, and a failed batch is retried before any
//      later one (the spool keeps order), so no point is ever committed with a
//      time below one already committed.
//   2. Readers see only committed batches: every read is bounded by
//      `time <= committed`, the last time of the last acknowledged write.
//      InfluxDB makes a write visible field by field and series by series,
//      and a failed write may be half applied; a reader that saw part of an
//      unacknowledged batch could step past points that appear later.
//   3. A retried batch keeps its times. A write whose answer was lost may have
//      been applied; writing it again with the same times overwrites the same
//      points (InfluxDB identifies a point by series and time), so a retry
//      never duplicates. The store knows a retry by its content (the spool
//      writer retries a failed batch alone, exactly as it was). The first
//      batch after a restart starts above the newest time in the database.
// Several gateways writing one database would break rule 1 (each has its own
// clock and commits independently). That needs a `node` tag on every point
// and a cursor with one position per node; this store supports one writing
// gateway per database.
import type { InfluxDB } from 'influx';
import type { Reading } from '../contract/telemetry.js';
import { RequestError, StoreError } from '../errors.js';
import type {
  DeviceSummary, HistoryBucket, HistoryQuery, SeriesPage, SeriesQuery, TelemetryStore, WriteResult,
} from './store.js';
import { HISTORY, POINTS, StorageClock, pointCount, toPoints } from './influx-points.js';
import { createClient, setUp, toStoreError, type InfluxConnection, type Setup } from './influx-setup.js';

export interface InfluxStoreOptions extends InfluxConnection {
  now?: () => number;
}

interface RawSeries {
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}
interface RawResult {
  series?: RawSeries[];
  error?: string;
}
type Row = Record<string, number | null>;

const CURSOR_PATTERN = /^\d{1,16}$/;
/** History points older than the retention window, with this margin, are not written (InfluxDB would refuse them). */
const RETENTION_MARGIN_MS = 60_000;

function parseCursor(cursor: string): number {
  const value = Number(cursor);
  if (!CURSOR_PATTERN.test(cursor) || !Number.isSafeInteger(value)) {
    throw new RequestError('bad_cursor', 'cursor must be a value returned by a previous request');
  }
  return value;
}

function rows(series: RawSeries): Row[] {
  return series.values.map((values) => Object.fromEntries(series.columns.map((c, i) => [c, values[i] as number | null])));
}

/** Device ids and metric names are validated patterns; they are escaped anyway. */
function str(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export class InfluxStore implements TelemetryStore {
  readonly kind = 'influxdb';
  private readonly influx: InfluxDB;
  private readonly now: () => number;
  private readonly clock: StorageClock;
  private setup: Promise<Setup> | null = null;
  /** Time of the last point of the last acknowledged write: reads never go past it (rule 2). */
  private committed = 0;
  /** The last failed batch and its times, reused when it comes back (rule 3). */
  private failed: { key: string; first: number } | null = null;
  /** Series known to have points, so an empty page need not ask whether the series exists. */
  private readonly known = new Set<string>();
  private closed = false;

  constructor(private readonly opts: InfluxStoreOptions) {
    this.now = opts.now ?? Date.now;
    this.clock = new StorageClock(this.now);
    this.influx = createClient(opts);
  }

  /** Database, policy and high-water mark, once; retried on the next call after a failure. */
  private ready(): Promise<Setup> {
    if (this.closed) return Promise.reject(new StoreError('influxdb store is closed', false));
    this.setup ??= (async () => {
      const setup = await setUp(this.influx, this.opts);
      const newest = await this.raw(setup, `SELECT "value" FROM ${setup.prefix}${POINTS} ORDER BY time DESC LIMIT 1`, 'u');
      const time = Number(newest[0]?.series?.[0]?.values[0]?.[0] ?? 0);
      this.clock.advancePast(time);
      this.committed = Math.max(this.committed, time);
      return setup;
    })().catch((err: unknown) => {
      this.setup = null;
      throw toStoreError(err, 'setup');
    });
    return this.setup;
  }

  private async raw(setup: Setup, query: string | string[], epoch: 'u' | 'ms'): Promise<RawResult[]> {
    let answer: { results: RawResult[] };
    try {
      answer = await this.influx.queryRaw(query, { precision: epoch, retentionPolicy: setup.retentionPolicy });
    } catch (err) {
      throw toStoreError(err, 'query');
    }
    const failed = answer.results.find((r) => r.error);
    if (failed) {
      // The database was dropped under us (or InfluxDB came back empty): set it up again next time.
      const gone = /database not found/.test(failed.error!);
      if (gone) this.setup = null;
      throw new StoreError(`influxdb query failed: ${failed.error}`, gone);
    }
    return answer.results;
  }

  async writeBatch(readings: readonly Reading[]): Promise<WriteResult> {
    const setup = await this.ready();
    const count = pointCount(readings);
    const key = this.failed ? JSON.stringify(readings) : '';
    const first = this.failed?.key === key ? this.failed.first : this.clock.take(count);
    const storedAt = this.now();
    const cutoff = setup.keepMs > 0 ? storedAt - setup.keepMs + RETENTION_MARGIN_MS : 0;
    const { points, series } = toPoints(readings, first, storedAt, cutoff);
    try {
      await this.influx.writePoints(points, { precision: 'u', retentionPolicy: setup.retentionPolicy });
    } catch (err) {
      this.failed = { key: key || JSON.stringify(readings), first };
      const error = toStoreError(err, `write of ${readings.length} readings`);
      if (/database not found/.test(error.message)) this.setup = null;
      throw error;
    }
    this.failed = null;
    this.committed = Math.max(this.committed, first + count - 1);
    for (const s of series) this.known.add(`${s.deviceId}\u0000${s.metric}`);
    return { storedAt, series };
  }

  private where(deviceId: string, metric: string | null): string {
    const device = `"device" = ${str(deviceId)}`;
    return `${metric === null ? device : `${device} AND "metric" = ${str(metric)}`} AND time <= ${this.committed}u`;
  }

  /** Whether the series has committed points: decides between an empty page and `null` (unknown series). */
  private async exists(setup: Setup, deviceId: string, metric: string): Promise<boolean> {
    const key = `${deviceId}\u0000${metric}`;
    if (this.known.has(key)) return true;
    const [result] = await this.raw(setup, `SELECT "value" FROM ${setup.prefix}${POINTS} WHERE ${this.where(deviceId, metric)} ORDER BY time DESC LIMIT 1`, 'u');
    const found = (result?.series?.length ?? 0) > 0;
    if (found) this.known.add(key);
    return found;
  }

  async querySeries(q: SeriesQuery): Promise<SeriesPage | null> {
    const after = q.after === undefined ? undefined : parseCursor(q.after);
    const setup = await this.ready();
    const range = after === undefined ? '' : ` AND time > ${after}u`;
    // Without a cursor: the newest `limit` points, read backwards and turned around.
    const order = after === undefined ? 'DESC' : 'ASC';
    const [result] = await this.raw(setup,
      `SELECT "value", "ts", "seq", "received_at", "stored_at" FROM ${setup.prefix}${POINTS}
       WHERE ${this.where(q.deviceId, q.metric)}${range} ORDER BY time ${order} LIMIT ${q.limit}`, 'u');
    const found = result?.series?.[0] ? rows(result.series[0]) : [];
    if (order === 'DESC') found.reverse();
    if (found.length === 0 && !(await this.exists(setup, q.deviceId, q.metric))) return null;
    const cursors = found.map((r) => String(r.time));
    return {
      points: found.map((r) => [r.ts!, r.value!, r.seq ?? null, r.received_at!, r.stored_at!]),
      cursors,
      cursor: cursors.at(-1) ?? String(after ?? 0),
    };
  }

  async queryHistory(q: HistoryQuery): Promise<HistoryBucket[] | null> {
    const setup = await this.ready();
    // GROUP BY time() buckets start at multiples of the step since the epoch, as SQLite's `ts - ts % step`.
    const [result] = await this.raw(setup,
      `SELECT mean("value"), min("value"), max("value"), count("value") FROM ${setup.prefix}${HISTORY}
       WHERE "device" = ${str(q.deviceId)} AND "metric" = ${str(q.metric)} AND time >= ${q.from}ms AND time < ${q.to}ms
       GROUP BY time(${q.stepMs}ms) fill(none)`, 'ms');
    const buckets = result?.series?.[0] ? rows(result.series[0]) : [];
    if (buckets.length === 0 && !(await this.exists(setup, q.deviceId, q.metric))) return null;
    return buckets.map((b) => [b.time!, b.mean!, b.min!, b.max!, b.count!]);
  }

  async listDevices(): Promise<DeviceSummary[]> {
    return this.devices(null);
  }

  async getDevice(deviceId: string): Promise<DeviceSummary | null> {
    return (await this.devices(deviceId))[0] ?? null;
  }

  /**
   * Devices from the first and the newest committed point of each series:
   * InfluxDB answers `LIMIT 1` per group from the ends of each series, without
   * scanning them. First seen is the first point still retained.
   */
  private async devices(deviceId: string | null): Promise<DeviceSummary[]> {
    const setup = await this.ready();
    const where = deviceId === null ? `time <= ${this.committed}u` : this.where(deviceId, null);
    const from = `FROM ${setup.prefix}${POINTS} WHERE ${where}`;
    const [newest, oldest] = await this.raw(setup, [
      `SELECT "received_at" ${from} GROUP BY "device", "metric" ORDER BY time DESC LIMIT 1`,
      `SELECT "received_at" ${from} GROUP BY "device" ORDER BY time ASC LIMIT 1`,
    ], 'u');
    const byId = new Map<string, DeviceSummary>();
    for (const s of oldest?.series ?? []) {
      const id = s.tags!.device!;
      byId.set(id, { id, firstSeen: rows(s)[0]!.received_at!, lastSeen: 0, metrics: [] });
    }
    for (const s of newest?.series ?? []) {
      const device = byId.get(s.tags!.device!);
      if (!device) continue;
      device.metrics.push(s.tags!.metric!);
      device.lastSeen = Math.max(device.lastSeen, rows(s)[0]!.received_at!);
    }
    for (const d of byId.values()) d.metrics.sort();
    return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async ping(): Promise<void> {
    await this.ready();
    const [host] = await this.influx.ping(this.opts.timeoutMs);
    if (!host?.online) throw new StoreError('influxdb did not answer /ping', true);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
