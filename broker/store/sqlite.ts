// The embedded default store: one SQLite file in WAL mode, one transaction per
// batch, one row per (reading, metric), at most one per (series, ts, seq). The cursor is the row id of `points`:
// AUTOINCREMENT ids are never reused and this process is the only writer, so
// ids grow in commit order and "id > cursor" can neither skip nor repeat a row.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Reading } from '../contract/telemetry.js';
import { RequestError, StoreError } from '../errors.js';
import type {
  DeviceSummary, HistoryBucket, HistoryQuery, SeriesPage, SeriesPoint, SeriesQuery, TelemetryStore, WriteResult,
} from './store.js';
import { migrate } from './sqlite-schema.js';

export interface SqliteStoreOptions {
  path: string;
  now?: () => number;
}

type PointRow = { id: number; ts: number; value: number; seq: number | null; received_at: number; stored_at: number };
type HistoryParams = { step: number; seriesId: number; from: number; to: number; buckets: number };
type DeviceRow = { id: string; first_seen: number; last_seen: number; metrics: string | null };

const CURSOR_PATTERN = /^\d{1,16}$/;

function parseCursor(cursor: string): number {
  if (!CURSOR_PATTERN.test(cursor)) throw new RequestError('bad_cursor', 'cursor must be a value returned by a previous request');
  return Number(cursor);
}

function toPoint(row: PointRow): SeriesPoint {
  return [row.ts, row.value, row.seq, row.received_at, row.stored_at];
}

function toDevice(row: DeviceRow): DeviceSummary {
  return {
    id: row.id,
    firstSeen: row.first_seen,
    lastSeen: row.last_seen,
    metrics: row.metrics ? row.metrics.split(',').sort() : [],
  };
}

/** SQLITE_BUSY/LOCKED/FULL/IOERR may pass; a constraint or misuse error will not. */
function isTransient(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return /^SQLITE_(BUSY|LOCKED|FULL|IOERR|CANTOPEN|PROTOCOL)/.test(code);
}

export class SqliteStore implements TelemetryStore {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;
  private readonly now: () => number;
  private readonly seriesIds = new Map<string, number>();
  private readonly stmt;
  private readonly writeTx;

  constructor(opts: SqliteStoreOptions) {
    this.now = opts.now ?? Date.now;
    if (opts.path !== ':memory:') fs.mkdirSync(path.dirname(opts.path), { recursive: true });
    this.db = new Database(opts.path);
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode is durable against a process crash; only an OS crash
    // or power loss can lose the last commits, as the SQLite docs describe.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    migrate(this.db);
    this.stmt = {
      insertSeries: this.db.prepare('INSERT OR IGNORE INTO series (device_id, metric) VALUES (?, ?)'),
      findSeries: this.db.prepare<[string, string], { id: number }>('SELECT id FROM series WHERE device_id = ? AND metric = ?'),
      insertPoint: this.db.prepare(
        // A reading stored before (same series, ts and seq) is skipped: see migration 2.
        `INSERT INTO points (series_id, ts, value, seq, received_at, stored_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (series_id, ts, seq) DO NOTHING`,
      ),
      upsertDevice: this.db.prepare(
        `INSERT INTO devices (id, first_seen, last_seen) VALUES (?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)`,
      ),
      after: this.db.prepare<[number, number, number], PointRow>(
        'SELECT id, ts, value, seq, received_at, stored_at FROM points WHERE series_id = ? AND id > ? ORDER BY id LIMIT ?',
      ),
      newest: this.db.prepare<[number, number], PointRow>(
        `SELECT * FROM (SELECT id, ts, value, seq, received_at, stored_at FROM points
         WHERE series_id = ? ORDER BY id DESC LIMIT ?) ORDER BY id`,
      ),
      history: this.db.prepare<[HistoryParams], { t: number; avg: number; min: number; max: number; n: number }>(
        // JS numbers bind as REAL, so `ts / @step` would not truncate; `%` works on integers.
        `SELECT ts - ts % @step AS t, avg(value) AS avg, min(value) AS min, max(value) AS max, count(*) AS n
         FROM points WHERE series_id = @seriesId AND ts >= @from AND ts < @to GROUP BY t ORDER BY t LIMIT @buckets`,
      ),
      devices: this.db.prepare<[], DeviceRow>(
        `SELECT d.id, d.first_seen, d.last_seen, (SELECT group_concat(metric) FROM series s WHERE s.device_id = d.id) AS metrics
         FROM devices d ORDER BY d.id`,
      ),
      device: this.db.prepare<[string], DeviceRow>(
        `SELECT d.id, d.first_seen, d.last_seen, (SELECT group_concat(metric) FROM series s WHERE s.device_id = d.id) AS metrics
         FROM devices d WHERE d.id = ?`,
      ),
    };
    this.writeTx = this.db.transaction((readings: readonly Reading[], storedAt: number) => {
      const touched = new Map<string, { deviceId: string; metric: string }>();
      const lastSeen = new Map<string, number>();
      for (const r of readings) {
        for (const metric in r.metrics) {
          const seriesId = this.seriesId(r.deviceId, metric);
          this.stmt.insertPoint.run(seriesId, r.ts, r.metrics[metric], r.seq, r.receivedAt, storedAt);
          touched.set(`${r.deviceId}/${metric}`, { deviceId: r.deviceId, metric });
        }
        lastSeen.set(r.deviceId, Math.max(lastSeen.get(r.deviceId) ?? 0, r.receivedAt));
      }
      for (const [id, seen] of lastSeen) this.stmt.upsertDevice.run(id, seen, seen);
      return [...touched.values()];
    });
  }

  private seriesId(deviceId: string, metric: string): number {
    const key = `${deviceId}\u0000${metric}`;
    let id = this.seriesIds.get(key);
    if (id === undefined) {
      this.stmt.insertSeries.run(deviceId, metric);
      id = this.stmt.findSeries.get(deviceId, metric)!.id;
      this.seriesIds.set(key, id);
    }
    return id;
  }

  private existingSeriesId(deviceId: string, metric: string): number | null {
    const key = `${deviceId}\u0000${metric}`;
    const cached = this.seriesIds.get(key);
    if (cached !== undefined) return cached;
    const row = this.stmt.findSeries.get(deviceId, metric);
    if (row) this.seriesIds.set(key, row.id);
    return row?.id ?? null;
  }

  async writeBatch(readings: readonly Reading[]): Promise<WriteResult> {
    const storedAt = this.now();
    try {
      return { storedAt, series: this.writeTx(readings, storedAt) };
    } catch (err) {
      // A rolled-back transaction may have created series rows we cached.
      this.seriesIds.clear();
      throw new StoreError(`sqlite write of ${readings.length} readings failed`, isTransient(err), { cause: err });
    }
  }

  async listDevices(): Promise<DeviceSummary[]> {
    return this.stmt.devices.all().map(toDevice);
  }

  async getDevice(deviceId: string): Promise<DeviceSummary | null> {
    const row = this.stmt.device.get(deviceId);
    return row ? toDevice(row) : null;
  }

  async querySeries(q: SeriesQuery): Promise<SeriesPage | null> {
    const after = q.after === undefined ? undefined : parseCursor(q.after);
    const seriesId = this.existingSeriesId(q.deviceId, q.metric);
    if (seriesId === null) return null;
    const rows = after === undefined ? this.stmt.newest.all(seriesId, q.limit) : this.stmt.after.all(seriesId, after, q.limit);
    const last = rows.at(-1);
    return { points: rows.map(toPoint), cursors: rows.map((r) => String(r.id)), cursor: String(last ? last.id : (after ?? 0)) };
  }

  async queryHistory(q: HistoryQuery): Promise<HistoryBucket[] | null> {
    const seriesId = this.existingSeriesId(q.deviceId, q.metric);
    if (seriesId === null) return null;
    const buckets = Math.ceil((q.to - q.from) / q.stepMs) + 1;
    return this.stmt.history
      .all({ step: q.stepMs, seriesId, from: q.from, to: q.to, buckets })
      .map((r) => [r.t, r.avg, r.min, r.max, r.n]);
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
