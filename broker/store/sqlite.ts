// The embedded default store: one SQLite file in WAL mode, one transaction per
// batch, one row per reading with its metrics as a JSON object, at most one per
// (device, ts, seq). A series is the readings of one device that have the
// metric. The cursor is the row id of `readings`: AUTOINCREMENT ids are never
// reused and one connection writes (sqlite-writer.ts, on its own thread; the
// checkpointer's connection never writes rows), so ids grow in commit order and
// "id > cursor" can neither skip nor repeat a row. The series of one device share its ids, so a
// series' cursors have gaps, which "id > cursor" ignores.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Reading } from '../contract/telemetry.js';
import { RequestError } from '../errors.js';
import type {
  DeviceSummary, HistoryBucket, HistoryQuery, SeriesPage, SeriesPoint, SeriesQuery, TelemetryStore, WriteResult,
} from './store.js';
import { migrate } from './sqlite-schema.js';
import { Checkpointer } from './sqlite-checkpointer.js';
import { configure, type DeviceEntry, SqliteWriter, type TouchedSeries, writeFailed } from './sqlite-writer.js';
import { SqliteWriteThread } from './sqlite-write-thread.js';

export interface SqliteStoreOptions {
  path: string;
  now?: () => number;
}

type PointRow = { id: number; ts: number; value: number; seq: number | null; received_at: number; stored_at: number };
type SeriesParams = { device: number; path: string; after: number; limit: number };
type HistoryParams = { step: number; device: number; path: string; from: number; to: number; buckets: number };
type DeviceRow = { id: string; first_seen: number; last_seen: number; metrics: string | null };

const CURSOR_PATTERN = /^\d{1,16}$/;

// Measured with bench/sqlite-write.ts (issue #9): with SQLite's default of
// 1,000 pages the commit that checkpoints fsyncs in the writer, and at 10,000
// devices a batch of 1,000 readings dirties about that many pages, so nearly
// every commit did. 10,000 pages is about 40 MiB of WAL. A checkpoint every
// second instead of every 100 ms copies a page rewritten by several commits
// once: the checkpoint thread's CPU at 8,000 devices × 1 reading/s went from
// 10.4 % to 2.0 % of a core (per-thread CPU from /proc over 20 s).
const CHECKPOINT_INTERVAL_MS = 1_000;
const BACKSTOP_CHECKPOINT_PAGES = 10_000;
const SQLITE_DEFAULT_CHECKPOINT_PAGES = 1_000;

function parseCursor(cursor: string): number {
  if (!CURSOR_PATTERN.test(cursor)) throw new RequestError('bad_cursor', 'cursor must be a value returned by a previous request');
  return Number(cursor);
}

/** Metric names are [A-Za-z0-9_.-] (contract/telemetry.ts); the quotes keep a '.' from reading as a nested key. */
function metricPath(metric: string): string {
  return `$."${metric}"`;
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

// The newest reading is the last stored; its receive time is the device's last seen.
const DEVICE_COLUMNS = `d.id, d.first_seen,
  coalesce((SELECT received_at FROM readings WHERE device = d.key ORDER BY id DESC LIMIT 1), d.first_seen) AS last_seen,
  (SELECT group_concat(metric) FROM metric_names WHERE device = d.key) AS metrics`;

// A series page reads the device's readings in id order and keeps those that have the metric.
const SERIES_ROWS = `SELECT id, ts, metrics ->> @path AS value, seq, received_at, stored_at FROM readings
  WHERE device = @device AND metrics ->> @path IS NOT NULL`;

/** Where a batch is written: a thread of its own for a file, this thread for `:memory:`. */
interface BatchWriter {
  write(readings: readonly Reading[], storedAt: number): Promise<TouchedSeries>;
  setAutocheckpoint(pages: number): void;
  close(): Promise<void>;
}

function inThread(db: Database.Database): BatchWriter {
  const writer = new SqliteWriter(db);
  return {
    write: async (readings, storedAt) => {
      try {
        return writer.write(readings, storedAt);
      } catch (err) {
        throw writeFailed(readings.length, err as Error & { code?: string });
      }
    },
    setAutocheckpoint: (pages) => writer.setAutocheckpoint(pages),
    close: async () => {},
  };
}

export class SqliteStore implements TelemetryStore {
  readonly kind = 'sqlite';
  /** Reads, and the schema migration at open; the writer has a connection of its own. */
  private readonly db: Database.Database;
  private readonly writer: BatchWriter;
  private readonly now: () => number;
  /** Devices and metric names seen in committed rows, for queries. */
  private readonly devices = new Map<string, DeviceEntry>();
  private readonly stmt;
  private readonly checkpointer: Checkpointer | null = null;

  constructor(opts: SqliteStoreOptions) {
    this.now = opts.now ?? Date.now;
    if (opts.path !== ':memory:') fs.mkdirSync(path.dirname(opts.path), { recursive: true });
    this.db = new Database(opts.path);
    configure(this.db);
    migrate(this.db);
    if (opts.path === ':memory:') {
      this.writer = inThread(this.db);
    } else {
      // Checkpoints run in a worker (sqlite-checkpointer.ts). The commit that
      // crosses this bound still checkpoints itself: under a load the worker
      // cannot follow, the WAL would otherwise only grow.
      this.writer = new SqliteWriteThread(opts.path, BACKSTOP_CHECKPOINT_PAGES);
      this.checkpointer = new Checkpointer({
        file: opts.path,
        intervalMs: CHECKPOINT_INTERVAL_MS,
        onError: () => this.writer.setAutocheckpoint(SQLITE_DEFAULT_CHECKPOINT_PAGES),
      });
    }
    this.stmt = {
      findDevice: this.db.prepare<[string], { key: number }>('SELECT key FROM devices WHERE id = ?'),
      findName: this.db.prepare<[number, string], { device: number }>('SELECT device FROM metric_names WHERE device = ? AND metric = ?'),
      after: this.db.prepare<[SeriesParams], PointRow>(`${SERIES_ROWS} AND id > @after ORDER BY id LIMIT @limit`),
      newest: this.db.prepare<[SeriesParams], PointRow>(`SELECT * FROM (${SERIES_ROWS} ORDER BY id DESC LIMIT @limit) ORDER BY id`),
      history: this.db.prepare<[HistoryParams], { t: number; avg: number; min: number; max: number; n: number }>(
        // JS numbers bind as REAL, so `ts / @step` would not truncate; `%` works on integers.
        `SELECT ts - ts % @step AS t, avg(v) AS avg, min(v) AS min, max(v) AS max, count(*) AS n
         FROM (SELECT ts, metrics ->> @path AS v FROM readings WHERE device = @device AND ts >= @from AND ts < @to)
         WHERE v IS NOT NULL GROUP BY t ORDER BY t LIMIT @buckets`,
      ),
      devices: this.db.prepare<[], DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM devices d ORDER BY d.id`),
      device: this.db.prepare<[string], DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM devices d WHERE d.id = ?`),
      ping: this.db.prepare('SELECT 1'),
    };
  }

  private knownDevice(deviceId: string): DeviceEntry | null {
    let entry = this.devices.get(deviceId);
    if (!entry) {
      const row = this.stmt.findDevice.get(deviceId);
      if (!row) return null;
      entry = { key: row.key, metrics: new Set() };
      this.devices.set(deviceId, entry);
    }
    return entry;
  }

  /** The device's key when it has sent the metric, else null. */
  private seriesDevice(deviceId: string, metric: string): number | null {
    const entry = this.knownDevice(deviceId);
    if (!entry) return null;
    if (!entry.metrics.has(metric)) {
      if (!this.stmt.findName.get(entry.key, metric)) return null;
      entry.metrics.add(metric);
    }
    return entry.key;
  }

  async writeBatch(readings: readonly Reading[]): Promise<WriteResult> {
    const storedAt = this.now();
    return { storedAt, series: await this.writer.write(readings, storedAt) };
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
    const device = this.seriesDevice(q.deviceId, q.metric);
    if (device === null) return null;
    const params = { device, path: metricPath(q.metric), after: after ?? 0, limit: q.limit };
    const rows = after === undefined ? this.stmt.newest.all(params) : this.stmt.after.all(params);
    const last = rows.at(-1);
    return { points: rows.map(toPoint), cursors: rows.map((r) => String(r.id)), cursor: String(last ? last.id : (after ?? 0)) };
  }

  async queryHistory(q: HistoryQuery): Promise<HistoryBucket[] | null> {
    const device = this.seriesDevice(q.deviceId, q.metric);
    if (device === null) return null;
    const buckets = Math.ceil((q.to - q.from) / q.stepMs) + 1;
    return this.stmt.history
      .all({ step: q.stepMs, device, path: metricPath(q.metric), from: q.from, to: q.to, buckets })
      .map((r) => [r.t, r.avg, r.min, r.max, r.n]);
  }

  /** A read on this connection and an empty transaction on the writer's: both must answer. */
  async ping(): Promise<void> {
    this.stmt.ping.get();
    await this.writer.write([], this.now());
  }

  async close(): Promise<void> {
    await this.writer.close();
    await this.checkpointer?.close();
    if (this.db.open) this.db.close();
  }
}
