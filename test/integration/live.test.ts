import { afterEach, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { parseTelemetry } from '../../broker/contract/telemetry.js';
import { ALL_TELEMETRY, telemetryTopic } from '../../broker/contract/topics.js';
import { collect, connectClient, metricValue, publishReading, waitFor } from '../helpers/clients.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway | undefined;
const clients: MqttClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await gw?.close();
  gw = undefined;
});

async function client(url: string, clientId: string) {
  const c = await connectClient(url, { clientId });
  clients.push(c);
  return c;
}

describe('live path', () => {
  it('a WebSocket subscriber receives TCP readings live, and invalid ones never reach it', async () => {
    gw = await startTestGateway();
    const browser = await client(gw.wsUrl, 'dash-test');
    const received = collect(browser);
    await browser.subscribeAsync(ALL_TELEMETRY, { qos: 0 });
    const device = await client(gw.mqttUrl, 'live-1');

    await device.publishAsync(telemetryTopic('live-1'), 'not json', { qos: 1 });
    for (let seq = 1; seq <= 5; seq++) await publishReading(device, 'live-1', seq);
    await waitFor(() => received.length >= 5, { what: 'live readings' });

    const seqs = received.map((m) => {
      const parsed = parseTelemetry(m.topic, m.payload, { now: Date.now(), maxBytes: 1e6, maxFutureMs: 1e6 });
      return parsed.ok ? parsed.reading.seq : `rejected ${m.payload.toString()}`;
    });
    expect(seqs).toEqual([1, 2, 3, 4, 5]);
    expect(await metricValue(gw.httpUrl, 'gateway_mqtt_connections', 'transport="ws"')).toBe(1);
    expect(await metricValue(gw.httpUrl, 'gateway_mqtt_connections', 'transport="tcp"')).toBe(1);
  });

  it('a device publishing over WebSocket is ingested like one over TCP', async () => {
    gw = await startTestGateway();
    const device = await client(gw.wsUrl, 'ws-device');
    for (let seq = 1; seq <= 3; seq++) await publishReading(device, 'ws-device', seq);
    await waitFor(async () => (await metricValue(gw!.httpUrl, 'gateway_readings_stored_total')) === 3, { what: 'stored' });
  });

  it('delivers QoS 1 and retained messages and the last will, as an MQTT broker must', async () => {
    gw = await startTestGateway();
    await (await client(gw.mqttUrl, 'retainer')).publishAsync('lab/state', 'on', { qos: 1, retain: true });
    const watcher = await client(gw.wsUrl, 'watcher');
    const received = collect(watcher);
    await watcher.subscribeAsync(['lab/#'], { qos: 1 });
    await waitFor(() => received.some((m) => m.topic === 'lab/state'), { what: 'retained message' });

    const mortal = await connectClient(gw.mqttUrl, { clientId: 'mortal', will: { topic: 'lab/will', payload: Buffer.from('gone'), qos: 1, retain: false } });
    mortal.stream.destroy();
    await waitFor(() => received.some((m) => m.topic === 'lab/will' && m.payload.toString() === 'gone'), { what: 'last will' });
  });

  it('refuses client publishes under the gateway-only $events prefix by closing that connection only', async () => {
    gw = await startTestGateway();
    const rogue = await client(gw.mqttUrl, 'rogue');
    const bystander = await client(gw.mqttUrl, 'bystander');
    const closed = new Promise<void>((resolve) => rogue.once('close', () => resolve()));
    rogue.publish('$events/presence/connected/someone', 'fake');
    await closed;
    expect(bystander.connected).toBe(true);
    await publishReading(bystander, 'bystander', 1);
    await waitFor(async () => (await metricValue(gw!.httpUrl, 'gateway_readings_stored_total')) === 1, { what: 'stored' });
  });

  it('counts PUBLISH packets in by the QoS sent and out by the QoS each subscriber gets', async () => {
    gw = await startTestGateway();
    const delivered = [0, 0, 0];
    for (const [id, url, qos] of [['sub-qos0', gw.mqttUrl, 0], ['sub-qos1', gw.wsUrl, 1]] as const) {
      const subscriber = await client(url, id);
      subscriber.on('message', (_topic, _payload, packet) => (delivered[packet.qos]! += 1));
      await subscriber.subscribeAsync('lab/#', { qos });
    }
    const publisher = await client(gw.mqttUrl, 'publisher');
    for (const qos of [0, 0, 1, 1, 1, 2] as const) await publisher.publishAsync(`lab/qos${qos}`, 'x', { qos });
    await waitFor(() => delivered[0]! + delivered[1]! + delivered[2]! === 12, { what: 'six messages to each subscriber' });

    const counts = async (name: string) =>
      Promise.all(['0', '1', '2'].map((qos) => metricValue(gw!.httpUrl, name, `qos="${qos}"`)));
    expect(await counts('gateway_mqtt_messages_in_total')).toEqual([2, 3, 1]);
    // The QoS 0 subscriber gets all six at QoS 0; the QoS 1 one gets QoS 0 messages at QoS 0.
    expect(delivered[0]).toBeGreaterThanOrEqual(8);
    expect(await counts('gateway_mqtt_messages_out_total')).toEqual(delivered);
  });
});
