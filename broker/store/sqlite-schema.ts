// Schema versions of the embedded store, applied in order and recorded in
// PRAGMA user_version, so a newer gateway upgrades an older data file in place.
import type Database from 'better-sqlite3';

export const MIGRATIONS: readonly string[] = [
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
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new Error(`database schema version ${current} is newer than this gateway (${SCHEMA_VERSION}); upgrade the gateway`);
  }
  for (let version = current + 1; version <= SCHEMA_VERSION; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version - 1]!);
      db.pragma(`user_version = ${version}`);
    })();
  }
}
