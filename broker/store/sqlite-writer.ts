// The write half of the SQLite store: one connection that inserts batches of
// readings, one transaction each. It runs on a worker thread for a file
// (sqlite-writer.worker.ts, driven by sqlite-write-thread.ts) so a commit never
// holds the event loop that serves MQTT, and in the store's own thread for an
// in-memory database, which only one connection can see.
import type Database from 'better-sqlite3';
import type { Reading } from '../contract/telemetry.js';
import { StoreError } from '../errors.js';
import type { WriteResult } from './store.js';

export type TouchedSeries = WriteResult['series'];

/** A device's integer key, and the metric names known to be in `metric_names` for it. */
export interface DeviceEntry {
  key: number;
  metrics: Set<string>;
}

/** SQLITE_BUSY/LOCKED/FULL/IOERR may pass; a constraint or misuse error will not. */
function isTransient(code: string | undefined): boolean {
  return /^SQLITE_(BUSY|LOCKED|FULL|IOERR|CANTOPEN|PROTOCOL)/.test(code ?? '');
}

/** The store's error for a batch that was not written; retriable as SQLite's code says unless the caller knows. */
export function writeFailed(count: number, cause: Error & { code?: string }, retriable = isTransient(cause.code)): StoreError {
  return new StoreError(`sqlite write of ${count} readings failed: ${cause.message}`, retriable, { cause });
}

/** Connection settings every connection of the store uses. */
export function configure(db: Database.Database): void {
  db.pragma('journal_mode = WAL');
  // NORMAL in WAL mode is durable against a process crash; only an OS crash
  // or power loss can lose the last commits, as the SQLite docs describe.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
}

export class SqliteWriter {
  /** Filled from committed rows only: a rolled-back batch clears it. */
  private readonly devices = new Map<string, DeviceEntry>();
  private readonly stmt;
  private readonly tx;

  /** `db` is open, configured and migrated. */
  constructor(private readonly db: Database.Database) {
    this.stmt = {
      findDevice: db.prepare<[string], { key: number }>('SELECT key FROM devices WHERE id = ?'),
      insertDevice: db.prepare('INSERT INTO devices (id, first_seen) VALUES (?, ?)'),
      insertName: db.prepare('INSERT INTO metric_names (device, metric) VALUES (?, ?) ON CONFLICT DO NOTHING'),
      insertReading: db.prepare(
        // A reading stored before (same device, ts and seq) is skipped: see migration 2.
        `INSERT INTO readings (device, ts, seq, received_at, stored_at, metrics) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (device, ts, seq) DO NOTHING`,
      ),
    };
    this.tx = db.transaction((readings: readonly Reading[], storedAt: number): TouchedSeries => {
      const touched = new Map<string, { deviceId: string; metric: string }>();
      for (const r of readings) {
        const device = this.deviceFor(r);
        for (const metric in r.metrics) {
          if (!device.metrics.has(metric)) {
            this.stmt.insertName.run(device.key, metric);
            device.metrics.add(metric);
          }
          touched.set(`${r.deviceId}/${metric}`, { deviceId: r.deviceId, metric });
        }
        this.stmt.insertReading.run(device.key, r.ts, r.seq, r.receivedAt, storedAt, JSON.stringify(r.metrics));
      }
      return [...touched.values()];
    });
  }

  /** Stores the batch atomically and names the series it touched; throws SQLite's error as it is. */
  write(readings: readonly Reading[], storedAt: number): TouchedSeries {
    try {
      return this.tx(readings, storedAt);
    } catch (err) {
      // A rolled-back transaction may have created devices and names we cached.
      this.devices.clear();
      throw err;
    }
  }

  setAutocheckpoint(pages: number): void {
    this.db.pragma(`wal_autocheckpoint = ${pages}`);
  }

  /** The device's entry, creating the device (first seen now) when it is new. */
  private deviceFor(r: Reading): DeviceEntry {
    let entry = this.devices.get(r.deviceId);
    if (!entry) {
      const row = this.stmt.findDevice.get(r.deviceId);
      const key = row ? row.key : Number(this.stmt.insertDevice.run(r.deviceId, r.receivedAt).lastInsertRowid);
      entry = { key, metrics: new Set() };
      this.devices.set(r.deviceId, entry);
    }
    return entry;
  }
}
