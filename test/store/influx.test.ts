// The store contract against a real influxd (Debian package influxdb) started
// by this file on free ports, a fresh database per test; then what is
// particular to InfluxDB: the documented mapping, database and retention
// set-up, and the cursor rules when a write fails or its answer is lost.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reading } from '../../broker/contract/telemetry.js';
import { loadConfig } from '../../broker/config.js';
import { ConfigError, StoreError } from '../../broker/errors.js';
import { createStore } from '../../broker/store/create-store.js';
import { InfluxStore, type InfluxStoreOptions } from '../../broker/store/influx.js';
import { influxdAvailable, startInfluxd, type Influxd } from '../helpers/influxd.js';
import { storeContract } from './contract.js';

const hasInfluxd = influxdAvailable();

function reading(deviceId: string, ts: number, value: number, seq: number | null = null): Reading {
  return { deviceId, ts, seq, metrics: { v: value }, receivedAt: ts + 3 };
}

/** Forwards HTTP to influxd; `loseNextWriteAnswer()` lets the next /write reach InfluxDB and then cuts the connection before the answer. */
async function lossyProxy(target: string) {
  let loseAnswer = false;
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const answer = await fetch(`${target}${req.url}`, { method: req.method, headers: { 'content-type': req.headers['content-type'] ?? '' }, body: chunks.length ? Buffer.concat(chunks) : undefined });
    const body = Buffer.from(await answer.arrayBuffer());
    if (loseAnswer && req.url!.startsWith('/write')) {
      loseAnswer = false;
      req.socket.destroy();
      return;
    }
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    loseNextWriteAnswer: () => void (loseAnswer = true),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe.skipIf(!hasInfluxd)('influxdb store', () => {
  let influxd: Influxd;
  let databases = 0;
  const options = (database: string, extra: Partial<InfluxStoreOptions> = {}): InfluxStoreOptions => ({
    url: influxd.url, database, username: null, password: null, retention: null, timeoutMs: 5_000, node: 'node-a', ...extra,
  });
  /** `from`: a measurement, qualified with its retention policy when it is not the default one. */
  const count = async (database: string, from: string) =>
    (await influxd.query(`SELECT count("value") FROM ${from}`, database))[0].series?.[0]?.values[0][1] ?? 0;

  beforeAll(async () => {
    influxd = await startInfluxd();
  });
  afterAll(() => influxd?.dispose());

  storeContract('influxdb', () => {
    const database = `contract_${++databases}`;
    return {
      open: async (now) => new InfluxStore({ ...options(database), now }),
      cleanup: async () => void (await influxd.query(`DROP DATABASE "${database}"`)),
    };
  });

  it('creates the database and writes the documented mapping: points by storage time, history by device ts', async () => {
    const store = new InfluxStore(options('mapping'));
    const ts = Date.now() - 10_000;
    await store.writeBatch([{ deviceId: 'm-1', ts, seq: 4, metrics: { temperature: 21, humidity: 40.5 }, receivedAt: ts + 7 }]);
    const [fields, tags, points, history] = await influxd.query(
      'SHOW FIELD KEYS; SHOW TAG KEYS; SELECT * FROM points WHERE metric = \'temperature\'; SELECT * FROM history WHERE metric = \'temperature\'', 'mapping');
    const fieldTypes = Object.fromEntries(fields.series.map((s: any) => [s.name, Object.fromEntries(s.values)]));
    expect(fieldTypes).toEqual({
      history: { value: 'float' },
      seen: { device: 'string', seq: 'integer' },
      points: { value: 'float', ts: 'integer', seq: 'integer', received_at: 'integer', stored_at: 'integer' },
    });
    expect(tags.series.map((s: any) => [s.name, s.values.flat()])).toEqual([['history', ['device', 'metric']], ['points', ['device', 'metric', 'node']]]);
    const row = Object.fromEntries(points.series[0].columns.map((c: string, i: number) => [c, points.series[0].values[0][i]]));
    expect(row).toMatchObject({ device: 'm-1', metric: 'temperature', node: 'node-a', value: 21, ts, seq: 4, received_at: ts + 7 });
    expect(row.time).toBeGreaterThanOrEqual(row.stored_at);
    expect(history.series[0].values).toEqual([[ts, 'm-1', 'temperature', 21]]);
    // One `seen` point per reading, within the millisecond of its ts: what the duplicate check reads.
    expect((await influxd.query('SELECT * FROM seen', 'mapping'))[0].series[0].values).toEqual([[ts, 'm-1', 4]]);
    await store.close();
  });

  it('creates the retention policy, alters it when the setting changes, and leaves out history points beyond it', async () => {
    const old = Date.now() - 3 * 3_600_000;
    const store = new InfluxStore(options('retained', { retention: '2h' }));
    await store.writeBatch([reading('r-1', old, 1), reading('r-1', Date.now(), 2)]);
    expect(await influxd.query('SHOW RETENTION POLICIES', 'retained').then((r) => r[0].series[0].values))
      .toContainEqual(['gateway', '2h0m0s', '1h0m0s', 1, false]);
    // Both readings are in the series; only the recent one could go into history.
    expect(await count('retained', '"gateway"."points"')).toBe(2);
    expect(await count('retained', '"gateway"."history"')).toBe(1);
    await store.close();

    const longer = new InfluxStore(options('retained', { retention: '3d' }));
    await longer.ping();
    expect(await influxd.query('SHOW RETENTION POLICIES', 'retained').then((r) => r[0].series[0].values))
      .toContainEqual(['gateway', '72h0m0s', '1h0m0s', 1, false]);
    await longer.close();
  });

  it('reuses a batch\'s times when its write is retried after a lost answer: no duplicate, and nothing visible before the retry succeeds', async () => {
    const proxy = await lossyProxy(influxd.url);
    const store = new InfluxStore(options('lossy', { url: proxy.url }));
    const t = Date.now();
    await store.writeBatch([reading('l-1', t, 1, 1)]);
    const { cursor } = (await store.querySeries({ deviceId: 'l-1', metric: 'v', limit: 10 }))!;

    const batch = [reading('l-1', t + 1, 2, 2), reading('l-1', t + 2, 3, 3)];
    proxy.loseNextWriteAnswer();
    const error = await store.writeBatch(batch).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).retriable).toBe(true);
    // InfluxDB has the points, but the store never saw them acknowledged.
    expect(await count('lossy', '"points"')).toBe(3);
    expect((await store.querySeries({ deviceId: 'l-1', metric: 'v', after: cursor, limit: 10 }))!.points).toEqual([]);

    // The same readings come back (from the spool: a copy, not the same objects).
    await store.writeBatch(structuredClone(batch));
    expect(await count('lossy', '"points"')).toBe(3);
    const page = (await store.querySeries({ deviceId: 'l-1', metric: 'v', after: cursor, limit: 10 }))!;
    expect(page.points.map((p) => p[2])).toEqual([2, 3]);
    await store.close();
    await proxy.close();
  });

  it('continues above the newest stored time after a restart, even when the clock went back', async () => {
    const before = new InfluxStore(options('restart'));
    await before.writeBatch([reading('c-1', Date.now(), 1)]);
    const { cursor } = (await before.querySeries({ deviceId: 'c-1', metric: 'v', limit: 10 }))!;
    await before.close();
    const after = new InfluxStore({ ...options('restart'), now: () => Date.now() - 3_600_000 });
    await after.writeBatch([reading('c-1', Date.now(), 2)]);
    expect((await after.querySeries({ deviceId: 'c-1', metric: 'v', after: cursor, limit: 10 }))!.points.map((p) => p[1])).toEqual([2]);
    await after.close();
  });

  it('reports InfluxDB down as retriable, and works again as soon as it is back', async () => {
    const store = new InfluxStore(options('outage', { timeoutMs: 2_000 }));
    await store.writeBatch([reading('o-1', Date.now(), 1)]);
    await influxd.stop();
    try {
      const error = await store.writeBatch([reading('o-1', Date.now(), 2)]).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(StoreError);
      expect((error as StoreError).retriable).toBe(true);
      await expect(store.ping()).rejects.toBeInstanceOf(StoreError);
    } finally {
      await influxd.start();
    }
    await store.writeBatch([reading('o-1', Date.now(), 3)]);
    await store.ping();
    expect((await store.querySeries({ deviceId: 'o-1', metric: 'v', after: '0', limit: 10 }))!.points.map((p) => p[1])).toEqual([1, 3]);
    await store.close();
  });

  it('reports a write InfluxDB refuses for its content as not retriable', async () => {
    await influxd.query('CREATE DATABASE conflict');
    await fetch(`${influxd.url}/write?db=conflict`, { method: 'POST', body: 'points,device=x,metric=v value="text"' });
    const store = new InfluxStore(options('conflict'));
    const error = await store.writeBatch([reading('x', Date.now(), 1)]).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).retriable).toBe(false);
    await store.close();
  });

  it('is what STORE=influxdb configures, and its settings are validated together', async () => {
    const store = createStore(loadConfig({ STORE: 'influxdb', INFLUX_URL: influxd.url, INFLUX_DATABASE: 'configured' }));
    expect(store.kind).toBe('influxdb');
    await store.writeBatch([reading('cfg', Date.now(), 1)]);
    expect(await count('configured', '"points"')).toBe(1);
    await store.close();

    const error = (() => {
      try {
        loadConfig({ STORE: 'influxdb', INFLUX_URL: 'ftp://x', INFLUX_DATABASE: 'a b', INFLUX_PASSWORD: 'p', INFLUX_RETENTION: '10m' });
      } catch (err) {
        return err as ConfigError;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.problems.map((p) => p.split(/[=\s]/)[0])).toEqual(['INFLUX_URL', 'INFLUX_DATABASE', 'INFLUX_PASSWORD', 'INFLUX_RETENTION']);
  });
});
