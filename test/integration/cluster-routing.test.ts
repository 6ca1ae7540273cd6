// Two gateway processes on one Redis and one InfluxDB (issue #8, items 2 and
// 5): messages, retained messages and persistent sessions are the cluster's,
// not a node's; a reading is stored once, by the node that received it; and
// either node serves what both stored.
import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { collect, connectClient, getJson, publishReading, waitFor } from '../helpers/clients.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { influxdAvailable } from '../helpers/influxd.js';
import { redisAvailable } from '../helpers/redis.js';
import { connectSession } from '../helpers/sessions.js';

const ready = redisAvailable() && influxdAvailable();

describe.skipIf(!ready)('a cluster of two gateways on Redis', () => {
  let cluster: Cluster;
  const clients: MqttClient[] = [];
  const a = () => cluster.nodes[0]!;
  const b = () => cluster.nodes[1]!;
  const client = async (url: string, clientId: string) => {
    const c = await connectClient(url, { clientId });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    cluster = await startCluster(['node-a', 'node-b'], 'cluster_routing');
  }, 60_000);
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  });
  afterAll(async () => {
    await cluster?.dispose();
  });

  it('delivers a publish on node A to a subscriber on node B, and serves A\'s retained message from B', async () => {
    const watcher = await client(b().mqttUrl, 'route-watcher');
    const live = collect(watcher);
    await watcher.subscribeAsync('devices/+/telemetry', { qos: 1 });
    const device = await client(a().mqttUrl, 'route-dev');
    await publishReading(device, 'route-dev', 1);
    await device.publishAsync('lab/mode', 'eco', { qos: 1, retain: true });
    await waitFor(() => live.length === 1, { what: 'A\'s reading at B' });
    expect(live[0]!.topic).toBe('devices/route-dev/telemetry');

    const late = await client(b().mqttUrl, 'route-late');
    const retained = collect(late);
    await late.subscribeAsync('lab/#', { qos: 1 });
    await waitFor(() => retained.length === 1, { what: 'retained message at B' });
    expect(retained[0]!.payload.toString()).toBe('eco');
  });

  it('moves a persistent session from node A to node B with the QoS 1 messages queued while it was offline', async () => {
    const first = await connectSession(a().mqttUrl, { clientId: 'mover', clean: false });
    await first.client.subscribeAsync('devices/+/telemetry', { qos: 1 });
    await first.client.endAsync();
    const onA = await client(a().mqttUrl, 'mover-a');
    const onB = await client(b().mqttUrl, 'mover-b');
    await Promise.all(Array.from({ length: 10 }, (_, i) => [publishReading(onA, 'mover-a', i + 1), publishReading(onB, 'mover-b', i + 1)]).flat());

    const moved = await connectSession(b().mqttUrl, { clientId: 'mover', clean: false });
    clients.push(moved.client);
    expect(moved.sessionPresent).toBe(true);
    const queued = collect(moved.client);
    await waitFor(() => queued.length >= 20, { what: '20 queued messages at B' });
    const seqs = (device: string) => queued.filter((m) => m.topic === `devices/${device}/telemetry`).map((m) => JSON.parse(m.payload.toString()).seq);
    expect(seqs('mover-a').sort((x, y) => x - y)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(seqs('mover-b').sort((x, y) => x - y)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
  });

  it('stores each reading once, by the node that received it, and serves it from either node with one cursor', async () => {
    // Subscribers on both nodes: routing through Redis must not make the other node ingest too.
    for (const [node, id] of [[a(), 'ingest-sub-a'], [b(), 'ingest-sub-b']] as const) {
      await (await client(node.mqttUrl, id)).subscribeAsync('devices/#', { qos: 1 });
    }
    const device = await client(a().mqttUrl, 'ingest-once');
    await Promise.all(Array.from({ length: 50 }, (_, i) => publishReading(device, 'ingest-once', i + 1)));
    await device.endAsync();
    const other = await client(b().mqttUrl, 'ingest-once');
    await Promise.all(Array.from({ length: 30 }, (_, i) => publishReading(other, 'ingest-once', i + 51)));

    const stored = (await waitFor(async () => {
      const rows = (await cluster.stored()).get('ingest-once') ?? [];
      return rows.length >= 80 ? rows : null;
    }, { timeoutMs: 10_000, what: '80 readings in InfluxDB' }))!;
    expect(stored.filter((r) => r.node === 'node-a').map((r) => r.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(stored.filter((r) => r.node === 'node-b').map((r) => r.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, i) => i + 51));

    // A poller behind a balancer alternates nodes and passes the cursor along.
    const seen: number[] = [];
    let cursor = '0';
    for (let i = 0; i < 20 && seen.length < 80; i++) {
      const node = i % 2 === 0 ? b() : a();
      const { status, body } = await getJson(`${node.httpUrl}/api/devices/ingest-once/series?metric=temperature&after=${cursor}&limit=25`);
      expect(status).toBe(200);
      seen.push(...body.points.map((p: number[]) => p[2]));
      cursor = body.cursor;
    }
    expect(seen.sort((x, y) => x - y)).toEqual(Array.from({ length: 80 }, (_, i) => i + 1));
    expect(cursor).toMatch(/^node-a:\d+,node-b:\d+$/);
  });
});
