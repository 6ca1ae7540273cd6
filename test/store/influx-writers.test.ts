// Several gateways writing one InfluxDB database (issue #8): each has its own
// storage clock and `node` tag, and a series cursor holds one position per
// node. Readers on any node page without gap or duplicate although the
// nodes' clocks and commits interleave, and a reading one node stored is not
// stored again by another.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reading } from '../../broker/contract/telemetry.js';
import { StoreError } from '../../broker/errors.js';
import { InfluxStore, type InfluxStoreOptions } from '../../broker/store/influx.js';
import { influxdAvailable, startInfluxd, type Influxd } from '../helpers/influxd.js';

const hasInfluxd = influxdAvailable();

function reading(ts: number, value: number, seq: number | null = null, deviceId = 'w-1'): Reading {
  return { deviceId, ts, seq, metrics: { v: value }, receivedAt: ts + 1 };
}

describe.skipIf(!hasInfluxd)('influxdb store with several writers', () => {
  let influxd: Influxd;
  let databases = 0;
  const open = (database: string, node: string, extra: Partial<InfluxStoreOptions> = {}) => new InfluxStore({
    url: influxd.url, database, username: null, password: null, retention: null, timeoutMs: 5_000, node, ...extra,
  });

  beforeAll(async () => {
    influxd = await startInfluxd();
  });
  afterAll(() => influxd?.dispose());

  async function values(store: InfluxStore, after: string): Promise<{ values: number[]; cursor: string }> {
    const page = (await store.querySeries({ deviceId: 'w-1', metric: 'v', after, limit: 1000 }))!;
    return { values: page.points.map((p) => p[1]), cursor: page.cursor };
  }

  it('pages every node\'s points exactly once although a node with a slower clock commits below another\'s times', async () => {
    const database = `writers_${++databases}`;
    const fast = open(database, 'node-fast');
    const slow = open(database, 'node-slow', { now: () => Date.now() - 60_000 });
    const reader = open(database, 'node-reader');
    await slow.ping();
    const t = Date.now();
    await fast.writeBatch([reading(t, 1), reading(t + 1, 2)]);
    const first = await values(reader, '0');
    expect(first.values).toEqual([1, 2]);
    expect(first.cursor).toMatch(/^node-fast:\d+$/);

    // Stamped a minute below the points the reader has already passed: a single-number cursor would skip them.
    await slow.writeBatch([reading(t + 2, 3)]);
    await fast.writeBatch([reading(t + 3, 4)]);
    const second = await values(reader, first.cursor);
    expect(second.values.sort()).toEqual([3, 4]);
    expect(second.cursor).toMatch(/^node-fast:\d+,node-slow:\d+$/);
    expect((await values(fast, second.cursor)).values).toEqual([]);
    expect((await values(slow, '0')).values.sort()).toEqual([1, 2, 3, 4]);

    // Without a cursor: the newest points of all nodes, and the cursor goes on from there for every node.
    const newest = (await reader.querySeries({ deviceId: 'w-1', metric: 'v', limit: 2 }))!;
    expect(newest.points).toHaveLength(2);
    await slow.writeBatch([reading(t + 4, 5)]);
    await fast.writeBatch([reading(t + 5, 6)]);
    expect((await values(reader, newest.cursor)).values.sort()).toEqual([5, 6]);
    for (const store of [fast, slow, reader]) await store.close();
  });

  it('does not store a reading again that another node has stored, nor a copy within a batch', async () => {
    const database = `writers_${++databases}`;
    const a = open(database, 'node-a');
    const b = open(database, 'node-b');
    const t = Date.now() - 5_000;
    await a.writeBatch([reading(t, 1, 7), reading(t + 1, 2, 8)]);
    // The device missed its PUBACK from node-a and retransmits to node-b.
    const result = await b.writeBatch([reading(t + 1, 2, 8), reading(t + 2, 3, 9), reading(t + 2, 3, 9)]);
    expect(result.series).toEqual([{ deviceId: 'w-1', metric: 'v' }]);
    expect((await values(a, '0')).values.sort()).toEqual([1, 2, 3]);
    const [points] = await influxd.query('SELECT count("value") FROM points GROUP BY "node"', database);
    expect(Object.fromEntries(points.series.map((s: any) => [s.tags.node, s.values[0][1]]))).toEqual({ 'node-a': 2, 'node-b': 1 });
    // Nothing new: nothing is written, no series is touched.
    expect((await b.writeBatch([reading(t, 1, 7)])).series).toEqual([]);
    await a.close();
    await b.close();
  });

  it('ends a node\'s page at a point whose fields are not all visible yet, and goes on from there once they are', async () => {
    const database = `writers_${++databases}`;
    const reader = open(database, 'node-r');
    const t = Date.now();
    await reader.writeBatch([reading(t, 1)]);
    const { cursor } = await values(reader, '0');
    // Another node's write, seen half applied: InfluxDB makes a batch visible field by field.
    const at = (t + 10) * 1000;
    await fetch(`${influxd.url}/write?db=${database}&precision=u`, { method: 'POST', body: `points,device=w-1,metric=v,node=node-x value=2 ${at}\npoints,device=w-1,metric=v,node=node-x value=3 ${at + 1}` });
    await fetch(`${influxd.url}/write?db=${database}&precision=u`, { method: 'POST', body: `points,device=w-1,metric=v,node=node-x ts=${t}i,received_at=${t}i,stored_at=${t}i ${at + 1}` });
    const partial = await values(reader, cursor);
    expect(partial.values).toEqual([]);
    await fetch(`${influxd.url}/write?db=${database}&precision=u`, { method: 'POST', body: `points,device=w-1,metric=v,node=node-x ts=${t}i,received_at=${t}i,stored_at=${t}i ${at}` });
    expect((await values(reader, partial.cursor)).values).toEqual([2, 3]);
    await reader.close();
  });

  it('writes a batch that spans shard groups in two requests, points first; a retry after the history request failed stores it once', async () => {
    const database = `writers_${++databases}`;
    // Fails every write request that carries history points while `refuse` is set.
    let refuse = true;
    const proxy = http.createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      if (refuse && req.url!.startsWith('/write') && body.toString().includes('history,')) {
        res.writeHead(500).end('{"error":"refused by the test"}');
        return;
      }
      const answer = await fetch(`${influxd.url}${req.url}`, { method: req.method, headers: { 'content-type': req.headers['content-type'] ?? '' }, body: chunks.length ? body : undefined });
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(Buffer.from(await answer.arrayBuffer()));
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    // 2h retention: 1h shard groups; a reading from 90 minutes ago lands in another group than the points written now.
    const store = open(database, 'node-s', { url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, retention: '2h' });
    const batch = [reading(Date.now() - 90 * 60_000, 1, 1), reading(Date.now(), 2, 2)];
    await expect(store.writeBatch(batch)).rejects.toBeInstanceOf(StoreError);
    expect((await influxd.query('SELECT count("value") FROM "gateway"."points"', database))[0].series[0].values[0][1]).toBe(2);
    expect((await influxd.query('SELECT count("value") FROM "gateway"."history"', database))[0].series).toBeUndefined();
    refuse = false;
    await store.writeBatch(structuredClone(batch));
    await store.writeBatch(structuredClone(batch));
    expect((await influxd.query('SELECT count("value") FROM "gateway"."points"', database))[0].series[0].values[0][1]).toBe(2);
    expect((await influxd.query('SELECT count("value") FROM "gateway"."history"', database))[0].series[0].values[0][1]).toBe(2);
    await store.close();
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
  });

  it('serves points written before node tags existed, and takes the single-number cursors of that version', async () => {
    const database = `writers_${++databases}`;
    await influxd.query(`CREATE DATABASE ${database}`);
    const t = Date.now() - 10_000;
    const old = [1, 2].map((v, i) => `points,device=w-1,metric=v value=${v},ts=${t}i,received_at=${t}i,stored_at=${t}i ${(t + i) * 1000}`);
    await fetch(`${influxd.url}/write?db=${database}&precision=u`, { method: 'POST', body: old.join('\n') });
    const store = open(database, 'node-new');
    const all = (await store.querySeries({ deviceId: 'w-1', metric: 'v', after: '0', limit: 10 }))!;
    expect(all.points.map((p) => p[1])).toEqual([1, 2]);
    expect(all.cursor).toBe(String((t + 1) * 1000));
    expect(all.cursors[0]).toBe(String(t * 1000));
    await store.writeBatch([reading(Date.now(), 3)]);
    expect((await values(store, all.cursors[0]!)).values).toEqual([2, 3]);
    await store.close();
  });
});
