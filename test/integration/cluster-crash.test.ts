// kill -9 of one gateway of two while devices publish QoS 1 (issue #8, item
// 5). Devices fail over the way MQTT.js does with a server list: half start
// on node A, half on node B, each with the other node as its next server.
// The surviving node keeps serving its devices and subscribers, takes over
// the dead node's devices and their retransmissions, and InfluxDB ends up
// with every reading exactly once, whichever node stored it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, connectClient, getJson, waitFor } from '../helpers/clients.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { influxdAvailable } from '../helpers/influxd.js';
import { startPublishers, type Publishers } from '../helpers/qos1-publishers.js';
import { redisAvailable } from '../helpers/redis.js';

const ready = redisAvailable() && influxdAvailable();
const DEVICES = 20;
const RATE = 50;

describe.skipIf(!ready)('kill -9 of one gateway of a cluster during a QoS 1 stream', () => {
  let cluster: Cluster;
  let devices: Publishers | undefined;

  beforeAll(async () => {
    cluster = await startCluster(['node-a', 'node-b'], 'cluster_crash');
  }, 60_000);
  afterAll(async () => {
    await devices?.close();
    await cluster?.dispose();
  });

  it('keeps serving on the other node, and stores every reading once after the devices fail over', { timeout: 60_000 }, async () => {
    const [a, b] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0]];
    const server = (node: typeof a) => ({ host: '127.0.0.1', port: node.mqttPort });
    const watcher = await connectClient(b.mqttUrl, { clientId: 'crash-watcher' });
    const live = collect(watcher);
    await watcher.subscribeAsync('devices/+/telemetry', { qos: 0 });

    const ids = Array.from({ length: DEVICES }, (_, i) => `fail-${String(i).padStart(2, '0')}`);
    devices = await startPublishers(ids, (id) => {
      const onA = Number(id.slice(5)) % 2 === 0;
      return { url: (onA ? a : b).mqttUrl, options: { servers: onA ? [server(a), server(b)] : [server(b), server(a)] } };
    }, RATE);
    await waitFor(() => devices!.totals().acked >= 1_000, { timeoutMs: 15_000, what: '1,000 acknowledged readings' });
    await a.kill();
    const atKill = { ...devices.totals(), live: live.length };
    // The devices go on publishing for a second after the kill; A's reconnect to B.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    devices.stopCreating();
    await devices.allAcked(20_000);
    const totals = devices.totals();
    expect(live.length).toBeGreaterThan(atKill.live);
    expect((await getJson(`${b.httpUrl}/readyz`)).status).toBe(200);

    const stored = await waitFor(async () => {
      const rows = await cluster.stored();
      const count = [...rows.values()].reduce((sum, list) => sum + list.length, 0);
      return count >= totals.published ? rows : null;
    }, { timeoutMs: 10_000, what: 'every reading in InfluxDB' });
    let rows = 0;
    const byNode = { 'node-a': 0, 'node-b': 0 } as Record<string, number>;
    for (const p of devices.list) {
      const list = stored!.get(p.deviceId) ?? [];
      expect(list.map((r) => r.seq).sort((x, y) => x - y), p.deviceId).toEqual(Array.from({ length: p.published }, (_, i) => i + 1));
      rows += list.length;
      for (const r of list) byNode[r.node] = (byNode[r.node] ?? 0) + 1;
    }
    console.log(`cluster kill -9: ${totals.published} readings published, ${atKill.acked} acknowledged before the kill, `
      + `${totals.packets - totals.published} PUBLISH retransmissions, ${totals.acked} acknowledged in the end, `
      + `${rows} stored once each (node-a ${byNode['node-a']}, node-b ${byNode['node-b']}); watcher on B: ${atKill.live} messages before the kill, ${live.length} in all`);
    expect(rows).toBe(totals.published);
    expect(byNode['node-b']).toBeGreaterThan(0);
    expect(byNode['node-a']).toBeGreaterThan(0);
    await watcher.endAsync();
  });
});
