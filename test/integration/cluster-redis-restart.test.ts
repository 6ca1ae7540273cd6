// Redis restarted under a running cluster (issue #8, item 5): the gateways
// reconnect on their own, nothing is restarted. Devices go on publishing QoS 1
// through the outage (their PUBACKs wait until the message is routed again),
// every reading is stored once, routing between the nodes works again, and a
// persistent session kept in Redis (append-only file) is still there with
// everything that was published for it. And a gateway whose Redis is gone
// still shuts down cleanly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, connectClient, publishReading, waitFor } from '../helpers/clients.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { influxdAvailable } from '../helpers/influxd.js';
import { startPublishers, type Publishers } from '../helpers/qos1-publishers.js';
import { redisAvailable } from '../helpers/redis.js';
import { connectSession } from '../helpers/sessions.js';

const ready = redisAvailable() && influxdAvailable();
const DEVICES = 10;
const RATE = 20;
// Longer than ioredis would hold a command by default (20 reconnect attempts, about 10 s).
const OUTAGE_MS = 12_000;

describe.skipIf(!ready)('a cluster when Redis restarts', () => {
  let cluster: Cluster;
  let devices: Publishers | undefined;

  beforeAll(async () => {
    cluster = await startCluster(['node-a', 'node-b'], 'cluster_redis');
  }, 60_000);
  afterAll(async () => {
    await devices?.close();
    await cluster?.dispose();
  });

  it('recovers without restarting the gateways: devices acknowledged, readings stored once, routing and sessions back', { timeout: 60_000 }, async () => {
    const [a, b] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0]];
    const session = await connectSession(a.mqttUrl, { clientId: 'redis-watcher', clean: false });
    await session.client.subscribeAsync('devices/+/telemetry', { qos: 1 });
    await session.client.endAsync();

    const ids = Array.from({ length: DEVICES }, (_, i) => `redis-${String(i).padStart(2, '0')}`);
    devices = await startPublishers(ids, (id) => ({ url: (Number(id.slice(6)) % 2 === 0 ? a : b).mqttUrl }), RATE);
    await waitFor(() => devices!.totals().acked >= 200, { timeoutMs: 15_000, what: '200 acknowledged readings' });
    await cluster.redis.stop();
    const atStop = devices.totals();
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    const duringOutage = devices.totals();
    await cluster.redis.start();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    devices.stopCreating();
    await devices.allAcked(30_000);
    const totals = devices.totals();
    expect(a.running() && b.running()).toBe(true);

    // Routing between the nodes works again.
    const watcher = await connectClient(b.mqttUrl, { clientId: 'redis-live' });
    const live = collect(watcher);
    await watcher.subscribeAsync('devices/redis-probe/telemetry', { qos: 1 });
    const probe = await connectClient(a.mqttUrl, { clientId: 'redis-probe' });
    await publishReading(probe, 'redis-probe', 1);
    await waitFor(() => live.length === 1, { what: 'A to B after the restart' });
    await Promise.all([watcher.endAsync(), probe.endAsync()]);

    // The persistent session survived in Redis, with every reading queued for it, outage included.
    const back = await connectSession(b.mqttUrl, { clientId: 'redis-watcher', clean: false });
    const queued = collect(back.client);
    const distinct = () => new Set(queued.map((m) => `${m.topic} ${JSON.parse(m.payload.toString()).seq}`)).size;
    await waitFor(() => distinct() >= totals.published, { timeoutMs: 20_000, what: `${totals.published} queued readings` });
    await back.client.endAsync();
    expect(back.sessionPresent).toBe(true);

    const stored = await cluster.stored();
    let rows = 0;
    for (const p of devices.list) {
      const seqs = (stored.get(p.deviceId) ?? []).map((r) => r.seq).sort((x, y) => x - y);
      expect(seqs, p.deviceId).toEqual(Array.from({ length: p.published }, (_, i) => i + 1));
      rows += seqs.length;
    }
    console.log(`redis restart: ${totals.published} readings published, ${atStop.acked} acknowledged before Redis stopped, `
      + `${duringOutage.acked - atStop.acked} acknowledged during the ${OUTAGE_MS} ms outage, ${totals.acked} in the end, `
      + `${rows} stored once each; the persistent session received ${distinct()} distinct of ${queued.length} messages`);
    expect(rows).toBe(totals.published);

    // With Redis gone for good, a gateway still shuts down cleanly (its QUITs go unanswered for a grace period only).
    await devices.close();
    devices = undefined;
    await cluster.redis.stop();
    const stopped = Date.now();
    expect(await b.stop()).toBe(0);
    expect(Date.now() - stopped).toBeLessThan(15_000);
  });
});
