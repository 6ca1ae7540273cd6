// Schema versions of the embedded store, applied in order and recorded in
// PRAGMA user_version, so a newer gateway upgrades an older data file in place.
import type Database from 'better-sqlite3';

/** SQL to run, or a step that needs code; each runs in one transaction with the version bump. */
export type Migration = string | ((db: Database.Database) => void);

export const MIGRATIONS: readonly Migration[] = [
  // 1: readings as one row per metric, keyed by series so indexes stay narrow.
  `CREATE TABLE devices (
     id TEXT PRIMARY KEY,
     first_seen INTEGER NOT NULL,
     last_seen INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE TABLE series (
     id INTEGER PRIMARY KEY,
     device_id TEXT NOT NULL,
     metric TEXT NOT NULL,
     UNIQUE (device_id, metric)
   );
   CREATE TABLE points (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     series_id INTEGER NOT NULL REFERENCES series (id),
     ts INTEGER NOT NULL,
     value REAL NOT NULL,
     seq INTEGER,
     received_at INTEGER NOT NULL,
     stored_at INTEGER NOT NULL
   );
   CREATE INDEX points_by_series ON points (series_id);
   CREATE INDEX points_by_time ON points (series_id, ts);`,
  // 2: at-least-once ingest without duplicates (issue #8). A reading that comes
  // again (a device that missed its PUBACK retransmits; a spool batch is
  // replayed after a crash) has the same device, ts and seq: one row per
  // series, ts and seq. Readings without seq stay apart: NULLs are distinct in
  // a UNIQUE index. The index also serves history's (series_id, ts) ranges, so
  // it replaces points_by_time. Duplicates stored before this version go first
  // (the oldest copy stays, so cursors already handed out stay valid).
  `DELETE FROM points WHERE seq IS NOT NULL AND id NOT IN (
     SELECT min(id) FROM points WHERE seq IS NOT NULL GROUP BY series_id, ts, seq);
   DROP INDEX points_by_time;
   CREATE UNIQUE INDEX points_by_reading ON points (series_id, ts, seq);`,
  // 3: one row per reading (issue #9). A row per metric cost every reading one
  // insert and two index entries per metric, in indexes spread over every
  // series; a reading's metrics now travel as one JSON object read back with
  // SQLite's JSON functions. Devices get an integer key that the readings and
  // their indexes carry instead of the id text: the file is about a sixth
  // smaller, and keys in order of first sight keep the devices of one batch
  // close together in the indexes while a fleet reports in a stable order. Last
  // seen is no longer kept per device, as updating it cost a write per device
  // per batch: it is the newest reading's receive time.
  upgradeToOneRowPerReading,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

function upgradeToOneRowPerReading(db: Database.Database): void {
  db.exec(`ALTER TABLE devices RENAME TO devices_v2;
    CREATE TABLE devices (
      key INTEGER PRIMARY KEY,
      id TEXT NOT NULL UNIQUE,
      first_seen INTEGER NOT NULL
    );
    -- The metric names each device has sent, for the device list and to tell an unknown series from an empty one.
    CREATE TABLE metric_names (
      device INTEGER NOT NULL REFERENCES devices (key),
      metric TEXT NOT NULL,
      PRIMARY KEY (device, metric)
    ) WITHOUT ROWID;
    -- AUTOINCREMENT: an id is never handed out twice, even after the newest rows are deleted (see sqlite.ts).
    CREATE TABLE readings (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      device INTEGER NOT NULL REFERENCES devices (key),
      ts INTEGER NOT NULL,
      seq INTEGER,
      received_at INTEGER NOT NULL,
      stored_at INTEGER NOT NULL,
      metrics TEXT NOT NULL
    );
    INSERT INTO devices (id, first_seen) SELECT id, first_seen FROM devices_v2 ORDER BY first_seen, id;
    INSERT INTO metric_names (device, metric) SELECT d.key, s.metric FROM series s JOIN devices d ON d.id = s.device_id;`);
  copyPointsToReadings(db);
  // New readings get ids above every id handed out as a cursor before, including points since deleted.
  db.exec(`DELETE FROM sqlite_sequence WHERE name = 'readings';
    INSERT INTO sqlite_sequence (name, seq) SELECT 'readings', seq FROM sqlite_sequence WHERE name = 'points';
    DROP TABLE points;
    DROP TABLE series;
    DROP TABLE devices_v2;
    -- Series pages walk (device, id): the row id rides along in every index entry.
    CREATE INDEX readings_by_device ON readings (device);
    -- At most one row per reading (see 2), and history's (device, ts) ranges.
    CREATE UNIQUE INDEX readings_by_key ON readings (device, ts, seq);`);
}

type PointRow = { id: number; device: number; metric: string; value: number; ts: number; seq: number | null; received_at: number; stored_at: number };
type ReadingRow = Omit<PointRow, 'metric' | 'value'> & { metrics: Map<string, number> };

/**
 * Groups the point rows of each reading back into one row. The writers of
 * versions 1 and 2 inserted a reading's metrics one after another in one
 * transaction, so a reading is a run of consecutive ids that share device, ts,
 * seq and times, and a metric seen again starts the next reading. The reading
 * keeps the smallest id of its run: a cursor handed out for any of its points
 * is then at or above it, so that cursor neither repeats it nor skips a later one.
 */
function copyPointsToReadings(db: Database.Database): void {
  const page = db.prepare<[number, number], PointRow>(
    `SELECT p.id, d.key AS device, s.metric, p.value, p.ts, p.seq, p.received_at, p.stored_at
     FROM points p JOIN series s ON s.id = p.series_id JOIN devices d ON d.id = s.device_id
     WHERE p.id > ? ORDER BY p.id LIMIT ?`,
  );
  const insert = db.prepare(
    'INSERT INTO readings (id, device, ts, seq, received_at, stored_at, metrics) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const flush = (r: ReadingRow) =>
    insert.run(r.id, r.device, r.ts, r.seq, r.received_at, r.stored_at, JSON.stringify(Object.fromEntries(r.metrics)));
  let open: ReadingRow | null = null;
  for (let after = 0; ;) {
    const rows = page.all(after, 10_000);
    if (rows.length === 0) break;
    for (const p of rows) {
      const sameReading = open !== null && open.device === p.device && open.ts === p.ts && open.seq === p.seq &&
        open.received_at === p.received_at && open.stored_at === p.stored_at && !open.metrics.has(p.metric);
      if (sameReading) {
        open!.metrics.set(p.metric, p.value);
        continue;
      }
      if (open) flush(open);
      open = { id: p.id, device: p.device, ts: p.ts, seq: p.seq, received_at: p.received_at, stored_at: p.stored_at, metrics: new Map([[p.metric, p.value]]) };
    }
    after = rows.at(-1)!.id;
  }
  if (open) flush(open);
}

/** Upgrades the file to `target` (the newest version by default; tests build older files with a lower one). */
export function migrate(db: Database.Database, target = SCHEMA_VERSION): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new Error(`database schema version ${current} is newer than this gateway (${SCHEMA_VERSION}); upgrade the gateway`);
  }
  for (let version = current + 1; version <= target; version++) {
    const step = MIGRATIONS[version - 1]!;
    db.transaction(() => {
      if (typeof step === 'string') db.exec(step);
      else step(db);
      db.pragma(`user_version = ${version}`);
    })();
  }
}
