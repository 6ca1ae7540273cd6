// The store contract against the embedded default: a temporary SQLite file per test;
// and the schema migrations that upgrade older files in place: 2 makes a
// repeated reading one row (issue #8), 3 stores one row per reading (issue #9);
// and the writer thread's failures (issue #4: commits left the event loop).
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { migrate, SCHEMA_VERSION } from '../../broker/store/sqlite-schema.js';
import { SqliteStore } from '../../broker/store/sqlite.js';
import { SqliteWriteThread } from '../../broker/store/sqlite-write-thread.js';
import type { Reading } from '../../broker/contract/telemetry.js';
import { StoreError } from '../../broker/errors.js';
import { makeTempDir } from '../helpers/gateway.js';
import { storeContract } from './contract.js';

storeContract('sqlite', () => {
  const dir = makeTempDir('store-sqlite-');
  return {
    open: async (now) => new SqliteStore({ path: path.join(dir, 'telemetry.db'), now }),
    cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }),
  };
});

describe('sqlite schema migrations', () => {
  let dir: string;
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A data file at an older schema version, filled by `fill` as that version's writer would have. */
  function olderFile(version: number, fill: string): string {
    dir = makeTempDir(`store-sqlite-v${version}-`);
    const file = path.join(dir, 'telemetry.db');
    const db = new Database(file);
    migrate(db, version);
    db.exec(fill);
    db.close();
    return file;
  }

  it('2 drops the duplicates an older version stored, keeping the oldest copy, and skips new ones', async () => {
    const file = olderFile(1, `INSERT INTO devices VALUES ('d', 1, 1); INSERT INTO series (id, device_id, metric) VALUES (1, 'd', 'v');
      INSERT INTO points (series_id, ts, value, seq, received_at, stored_at) VALUES
        (1, 1000, 1, 1, 1, 1), (1, 1000, 1, 1, 2, 2), (1, 2000, 2, NULL, 3, 3), (1, 2000, 2, NULL, 4, 4), (1, 3000, 3, 2, 5, 5), (1, 3000, 3, 2, 6, 6)`);

    const store = new SqliteStore({ path: file });
    const page = (await store.querySeries({ deviceId: 'd', metric: 'v', after: '0', limit: 10 }))!;
    expect(page.points.map((p) => [p[0], p[2], p[3]])).toEqual([[1000, 1, 1], [2000, null, 3], [2000, null, 4], [3000, 2, 5]]);
    expect(page.cursors).toEqual(['1', '3', '4', '5']);
    await store.writeBatch([{ deviceId: 'd', ts: 3000, seq: 2, metrics: { v: 3 }, receivedAt: 7 }]);
    expect((await store.querySeries({ deviceId: 'd', metric: 'v', after: page.cursor, limit: 10 }))!.points).toEqual([]);
    await store.close();
    const db = new Database(file, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    db.close();
  });

  it('3 turns the points of each reading into one row, and cursors handed out before the upgrade neither skip nor repeat', async () => {
    // As the version 2 writer stored them: a reading's metrics at consecutive ids, devices with first and last seen.
    // Ids 6 and 7 are two readings without seq that share everything; 10 was stored and then removed.
    const file = olderFile(2, `INSERT INTO devices VALUES ('a', 1005, 3005), ('b', 1006, 1006);
      INSERT INTO series (id, device_id, metric) VALUES (1, 'a', 'temperature'), (2, 'a', 'humidity'), (3, 'b', 'temperature');
      INSERT INTO points (id, series_id, ts, value, seq, received_at, stored_at) VALUES
        (1, 1, 1000, 20.5, 1, 1005, 2000), (2, 2, 1000, 40, 1, 1005, 2000),
        (3, 3, 1000, 30.25, 1, 1006, 2000),
        (4, 1, 2000, 21, 2, 2005, 3000), (5, 2, 2000, 41, 2, 2005, 3000),
        (6, 2, 2000, 42, NULL, 2006, 3000),
        (7, 2, 2000, 42, NULL, 2006, 3000),
        (8, 1, 3000, 22, 3, 3005, 4000), (9, 2, 3000, 43, 3, 3005, 4000),
        (10, 1, 5000, 25, 5, 5005, 5000);
      DELETE FROM points WHERE id = 10;`);

    let store = new SqliteStore({ path: file });
    const series = async (metric: string, after?: string, deviceId = 'a') =>
      (await store.querySeries({ deviceId, metric, after, limit: 100 }))!;

    expect((await series('temperature', '0')).points).toEqual([[1000, 20.5, 1, 1005, 2000], [2000, 21, 2, 2005, 3000], [3000, 22, 3, 3005, 4000]]);
    expect((await series('humidity', '0')).points.map((p) => [p[1], p[2]])).toEqual([[40, 1], [41, 2], [42, null], [42, null], [43, 3]]);
    expect((await series('temperature', '0', 'b')).points.map((p) => p[1])).toEqual([30.25]);
    // Cursors of both series, from before the upgrade: the point after each one comes next, and only it.
    expect((await series('temperature', '1')).points.map((p) => p[1])).toEqual([21, 22]);
    expect((await series('humidity', '2')).points.map((p) => p[1])).toEqual([41, 42, 42, 43]);
    expect((await series('humidity', '6')).points.map((p) => p[1])).toEqual([42, 43]);
    expect((await series('temperature', '8')).points).toEqual([]);
    expect((await series('humidity', '9')).points).toEqual([]);
    expect((await series('humidity')).points.map((p) => p[1])).toEqual([40, 41, 42, 42, 43]);

    const history = (await store.queryHistory({ deviceId: 'a', metric: 'humidity', from: 0, to: 5000, stepMs: 1000 }))!;
    expect(history.map(([t, , min, max, count]) => [t, min, max, count])).toEqual([[1000, 40, 40, 1], [2000, 41, 42, 3], [3000, 43, 43, 1]]);
    expect(history[1]![1]).toBeCloseTo(125 / 3, 10);

    expect(await store.listDevices()).toEqual([
      { id: 'a', firstSeen: 1005, lastSeen: 3005, metrics: ['humidity', 'temperature'] },
      { id: 'b', firstSeen: 1006, lastSeen: 1006, metrics: ['temperature'] },
    ]);

    // A reading stored before the upgrade is skipped when it comes again; one without seq is a new reading.
    await store.writeBatch([
      { deviceId: 'a', ts: 2000, seq: 2, metrics: { temperature: 21, humidity: 41 }, receivedAt: 6000 },
      { deviceId: 'a', ts: 2000, seq: null, metrics: { humidity: 42 }, receivedAt: 6001 },
      { deviceId: 'a', ts: 4000, seq: 4, metrics: { temperature: 23, humidity: 44 }, receivedAt: 6002 },
    ]);
    const after = await series('humidity', '9');
    expect(after.points.map((p) => [p[1], p[2]])).toEqual([[42, null], [44, 4]]);
    // New ids start above every id handed out before, including 10, a point since removed.
    expect(after.cursors.every((c) => Number(c) > 10)).toBe(true);
    expect((await series('temperature', '10')).points.map((p) => p[1])).toEqual([23]);
    expect((await store.getDevice('a'))!.lastSeen).toBe(6002);

    await store.close();
    store = new SqliteStore({ path: file });
    expect((await series('humidity', '0')).points).toHaveLength(7);
    await store.close();
    const db = new Database(file, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name IN ('points', 'series', 'devices_v2')").all()).toEqual([]);
    db.close();
  });
});

describe('sqlite writer thread', () => {
  let dir: string;
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('fails the writes of a thread that died as retriable, and the next write starts a new thread', async () => {
    dir = makeTempDir('store-sqlite-thread-');
    const file = path.join(dir, 'telemetry.db');
    const reading = { deviceId: 'a', ts: 1000, seq: 1, metrics: { temperature: 20 }, receivedAt: 1001 };
    // No database file yet: the thread cannot open it and ends with an error.
    const thread = new SqliteWriteThread(file, 1000);
    const failed = await thread.write([reading], 2000).catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(StoreError);
    expect((failed as StoreError).retriable).toBe(true);

    const db = new Database(file);
    migrate(db);
    expect(await thread.write([reading], 2000)).toEqual([{ deviceId: 'a', metric: 'temperature' }]);
    await thread.close();
    expect(db.prepare('SELECT count(*) AS n FROM readings').get()).toEqual({ n: 1 });
    db.close();
    await expect(thread.write([reading], 3000)).rejects.toThrow('closed');
  });

  it('answers writes sent together in order, and a batch that fails in between fails alone', async () => {
    dir = makeTempDir('store-sqlite-thread-');
    const file = path.join(dir, 'telemetry.db');
    const db = new Database(file);
    migrate(db);
    const reading = (deviceId: string, seq: number, ts: number | null = 1000) =>
      ({ deviceId, ts, seq, metrics: { v: seq }, receivedAt: 1001 }) as Reading;
    const thread = new SqliteWriteThread(file, 1000);
    const answers: string[] = [];
    const sent = [
      [reading('a', 1)],
      // A new device whose reading breaks NOT NULL: the batch is rolled back, device row included.
      [reading('b', 2), reading('b', 3, null)],
      [reading('b', 4)],
    ].map((batch, i) => thread.write(batch, 2000).then(() => answers.push(`${i} ok`), (err: StoreError) => answers.push(`${i} ${err.retriable ? 'retriable' : 'refused'}`)));
    await Promise.all(sent);
    await thread.close();
    expect(answers).toEqual(['0 ok', '1 refused', '2 ok']);
    expect(db.prepare('SELECT d.id, r.seq FROM readings r JOIN devices d ON d.key = r.device ORDER BY r.id').all())
      .toEqual([{ id: 'a', seq: 1 }, { id: 'b', seq: 4 }]);
    db.close();
  });
});
