import { afterEach, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { ALL_TELEMETRY, telemetryTopic } from '../../broker/contract/topics.js';
import { collect, connectClient, getJson, metricValue, waitFor } from '../helpers/clients.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway | undefined;
const clients: MqttClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await gw?.close();
  gw = undefined;
});

const PUBLISHERS = 10;
// A small routing capacity so that a test-sized burst is an overload.
const OVERLOAD = { MAX_INFLIGHT_MESSAGES: '100', SHED_AFTER_MS: '20' };

async function publishers(url: string, prefix: string): Promise<MqttClient[]> {
  const list = await Promise.all(Array.from({ length: PUBLISHERS }, (_, i) => connectClient(url, { clientId: `${prefix}-${i}` })));
  clients.push(...list);
  return list;
}

describe.each(['tcp', 'ws'] as const)('open overload over %s', (transport) => {
  it('sheds QoS 0 at the edge and counts every message it sheds', async () => {
    gw = await startTestGateway(OVERLOAD);
    const url = transport === 'tcp' ? gw.mqttUrl : gw.wsUrl;
    const watcher = await connectClient(gw.wsUrl, { clientId: 'watcher' });
    clients.push(watcher);
    const live = collect(watcher);
    await watcher.subscribeAsync(ALL_TELEMETRY);
    const perPublisher = 2_000;
    const list = await publishers(url, `q0-${transport}`);
    await Promise.all(list.map(async (client, i) => {
      for (let seq = 1; seq <= perPublisher; seq++) client.publish(telemetryTopic(`q0-${transport}-${i}`), JSON.stringify({ seq, metrics: { t: seq } }), { qos: 0 });
      // end() without force sends everything buffered before the DISCONNECT.
      await client.endAsync();
    }));
    const total = PUBLISHERS * perPublisher;
    const shed = await waitFor(async () => {
      const dropped = await metricValue(gw!.httpUrl, 'gateway_mqtt_dropped_total', 'qos="0",reason="overload"');
      const accepted = await metricValue(gw!.httpUrl, 'gateway_readings_accepted_total');
      return accepted + dropped === total ? dropped : 0;
    }, { what: 'every QoS 0 message accepted or counted as shed', timeoutMs: 20_000 });
    expect(shed).toBeGreaterThan(0);
    const stats = (await getJson(`${gw.httpUrl}/api/gateway`)).body;
    expect(stats.dropped.overload).toBe(shed);
    expect(stats.topShedders.length).toBeGreaterThan(0);
    expect(stats.topShedders.reduce((sum: number, s: { shed: number }) => sum + s.shed, 0)).toBe(shed);
    await waitFor(() => live.length === total - shed, { what: 'live deliveries of the admitted messages', timeoutMs: 10_000 });
    expect((await getJson(`${gw.httpUrl}/healthz`)).status).toBe(200);
  });

  it('loses no QoS 1 reading: publishers are slowed, every acknowledged reading is stored once', async () => {
    gw = await startTestGateway(OVERLOAD);
    const url = transport === 'tcp' ? gw.mqttUrl : gw.wsUrl;
    const perPublisher = 500;
    const list = await publishers(url, `q1-${transport}`);
    let acked = 0;
    await Promise.all(list.map((client, i) => Promise.all(Array.from({ length: perPublisher }, (_, k) =>
      client.publishAsync(telemetryTopic(`q1-${transport}-${i}`), JSON.stringify({ seq: k + 1, metrics: { t: k } }), { qos: 1 }).then(() => {
        acked += 1;
      })))));
    expect(acked).toBe(PUBLISHERS * perPublisher);
    expect(await metricValue(gw.httpUrl, 'gateway_mqtt_dropped_total', 'qos="0",reason="overload"')).toBe(0);
    // The burst did overload the routing capacity: publishes waited instead of being dropped.
    expect(await metricValue(gw.httpUrl, 'gateway_mqtt_admission_waits_total', 'qos="1"')).toBeGreaterThan(0);
    for (let i = 0; i < PUBLISHERS; i++) {
      const { body } = await getJson(`${gw.httpUrl}/api/devices/q1-${transport}-${i}/series?metric=t&after=0&limit=10000`);
      const seqs = body.points.map((p: number[]) => p[2]);
      expect(new Set(seqs).size).toBe(perPublisher);
      expect(seqs).toHaveLength(perPublisher);
    }
    expect(process.memoryUsage().rss).toBeLessThan(1024 * 2 ** 20);
  });
});
