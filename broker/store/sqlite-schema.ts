// Schema versions of the embedded store, applied in order and recorded in
// PRAGMA user_version, so a newer gateway upgrades an older data file in place.
import type Database from 'better-sqlite3';

const MIGRATIONS: readonly string[] = [
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
