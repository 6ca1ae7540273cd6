// Shadows persist in the gateway's own SQLite file (DATA_DIR/registry.db),
// next to the device registry, whatever the telemetry store is.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { ShadowDocument } from './document.js';

export class ShadowStore {
  private readonly db: Database.Database;
  private readonly select;
  private readonly upsert;

  constructor(file: string) {
    if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`CREATE TABLE IF NOT EXISTS shadows (
      device_id TEXT PRIMARY KEY,
      document TEXT NOT NULL,
      version INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    ) WITHOUT ROWID`);
    this.select = this.db.prepare<[string], { document: string }>('SELECT document FROM shadows WHERE device_id = ?');
    this.upsert = this.db.prepare(
      `INSERT INTO shadows (device_id, document, version, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT(device_id) DO UPDATE SET document = excluded.document, version = excluded.version, updated_at = excluded.updated_at`,
    );
  }

  get(deviceId: string): ShadowDocument | null {
    const row = this.select.get(deviceId);
    return row ? (JSON.parse(row.document) as ShadowDocument) : null;
  }

  put(deviceId: string, document: ShadowDocument): void {
    this.upsert.run(deviceId, JSON.stringify(document), document.version, document.timestamp);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
