// The store contract against the embedded default: a temporary SQLite file per test;
// and the schema migration that makes a repeated reading one row (issue #8).
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS, SCHEMA_VERSION } from '../../broker/store/sqlite-schema.js';
import { SqliteStore } from '../../broker/store/sqlite.js';
import { makeTempDir } from '../helpers/gateway.js';
import { storeContract } from './contract.js';

storeContract('sqlite', () => {
  const dir = makeTempDir('store-sqlite-');
  return {
    open: async (now) => new SqliteStore({ path: path.join(dir, 'telemetry.db'), now }),
    cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }),
  };
});

describe('sqlite schema migration 2 (one row per reading)', () => {
  it('drops the duplicates an older version stored, keeping the oldest copy, and skips new ones', async () => {
    const dir = makeTempDir('store-sqlite-v1-');
    const file = path.join(dir, 'telemetry.db');
    const db = new Database(file);
    db.exec(MIGRATIONS[0]!);
    db.pragma('user_version = 1');
    db.exec(`INSERT INTO devices VALUES ('d', 1, 1); INSERT INTO series (id, device_id, metric) VALUES (1, 'd', 'v');
      INSERT INTO points (series_id, ts, value, seq, received_at, stored_at) VALUES
        (1, 1000, 1, 1, 1, 1), (1, 1000, 1, 1, 2, 2), (1, 2000, 2, NULL, 3, 3), (1, 2000, 2, NULL, 4, 4), (1, 3000, 3, 2, 5, 5), (1, 3000, 3, 2, 6, 6)`);
    db.close();

    const store = new SqliteStore({ path: file });
    const page = (await store.querySeries({ deviceId: 'd', metric: 'v', after: '0', limit: 10 }))!;
    expect(page.points.map((p) => [p[0], p[2], p[3]])).toEqual([[1000, 1, 1], [2000, null, 3], [2000, null, 4], [3000, 2, 5]]);
    expect(page.cursors).toEqual(['1', '3', '4', '5']);
    await store.writeBatch([{ deviceId: 'd', ts: 3000, seq: 2, metrics: { v: 3 }, receivedAt: 7 }]);
    expect((await store.querySeries({ deviceId: 'd', metric: 'v', after: page.cursor, limit: 10 }))!.points).toEqual([]);
    await store.close();
    expect(new Database(file).pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
