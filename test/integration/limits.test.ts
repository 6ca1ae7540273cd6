import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { WebSocket } from 'ws';
import { rejectionTopic, telemetryTopic } from '../../broker/contract/topics.js';
import { collect, connectClient, metricTotal, metricValue, publishLoad, waitFor } from '../helpers/clients.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway | undefined;
const clients: MqttClient[] = [];
const sockets: Array<{ destroy(): void }> = [];
afterEach(async () => {
  sockets.splice(0).forEach((s) => s.destroy());
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await gw?.close();
  gw = undefined;
});

async function connect(url: string, clientId: string) {
  const client = await connectClient(url, { clientId });
  clients.push(client);
  return client;
}

async function refusedWith(url: string, clientId: string): Promise<number> {
  try {
    clients.push(await connectClient(url, { clientId }));
  } catch (err) {
    return (err as { code: number }).code;
  }
  throw new Error('connect was accepted');
}

const closedPromise = (client: MqttClient) => new Promise<void>((resolve) => client.once('close', () => resolve()));

/** A raw MQTT 3.1.1 CONNECT for `clientId` with a clean session. */
function connectBytes(clientId: string): Buffer {
  const id = Buffer.from(clientId);
  const variable = Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 60, id.length >> 8, id.length & 0xff]);
  return Buffer.concat([Buffer.from([0x10, variable.length + id.length]), variable, id]);
}

function subscribeBytes(filter: string): Buffer {
  const f = Buffer.from(filter);
  const body = Buffer.concat([Buffer.from([0, 1, f.length >> 8, f.length & 0xff]), f, Buffer.from([0])]);
  return Buffer.concat([Buffer.from([0x82, body.length]), body]);
}

describe('limits', () => {
  it('closes a connection that announces a packet over MAX_PACKET_BYTES before its body arrives', async () => {
    gw = await startTestGateway({ MAX_PACKET_BYTES: '131072' });
    const socket = net.connect(Number(new URL(gw.mqttUrl).port), '127.0.0.1');
    sockets.push(socket);
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => {});
    socket.write(connectBytes('big-1'));
    // PUBLISH QoS 0 announcing 200,000 bytes (remaining length as a variable byte integer), then only a few of them.
    socket.write(Buffer.from([0x30, 0xc0, 0x9a, 0x0c, 0, 1, 0x78]));
    await closed;
    expect(await metricValue(gw.httpUrl, 'gateway_mqtt_oversized_packets_total')).toBe(1);

    const device = await connect(gw.mqttUrl, 'big-2');
    const dropped = closedPromise(device);
    device.publish('lab/big', Buffer.alloc(140_000));
    await dropped;
    const fine = await connect(gw.mqttUrl, 'small-1');
    await fine.publishAsync('lab/small', Buffer.alloc(100_000), { qos: 1 });
  });

  it('drops QoS 0 over the publish rate, delays QoS 1 without losing any, and disconnects repeat offenders', async () => {
    gw = await startTestGateway({ PUBLISH_RATE: '20', PUBLISH_BURST: '20' });
    const device = await connect(gw.mqttUrl, 'fast-1');
    const notices = collect(device);
    await device.subscribeAsync(rejectionTopic('fast-1'));
    for (let seq = 1; seq <= 60; seq++) device.publish(telemetryTopic('fast-1'), JSON.stringify({ seq, metrics: { t: seq } }), { qos: 0 });
    await waitFor(async () => (await metricValue(gw!.httpUrl, 'gateway_mqtt_dropped_total', 'qos="0",reason="rate_limited"')) >= 30, { what: 'QoS 0 drops' });
    // Shed publishes are dropped unrouted: no rejection notice per message, which would multiply the load.
    expect(notices).toEqual([]);
    const storedQos0 = await waitFor(async () => {
      const stored = await metricValue(gw!.httpUrl, 'gateway_readings_stored_total');
      return stored > 0 ? stored : 0;
    });
    expect(storedQos0).toBeLessThan(60);

    const stored = await metricValue(gw.httpUrl, 'gateway_readings_stored_total');
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await Promise.all(Array.from({ length: 40 }, (_, i) =>
      device.publishAsync(telemetryTopic('fast-1'), JSON.stringify({ seq: 100 + i, metrics: { t: i } }), { qos: 1 })));
    await waitFor(async () => (await metricValue(gw!.httpUrl, 'gateway_readings_stored_total')) === stored + 40, { what: 'all QoS 1 stored', timeoutMs: 10_000 });
    expect(await metricValue(gw.httpUrl, 'gateway_mqtt_throttled_total', 'qos="1",action="delayed"')).toBeGreaterThan(0);

    const offender = await connect(gw.mqttUrl, 'flood-1');
    const kicked = closedPromise(offender);
    for (let i = 0; i < 1_000; i++) offender.publish('lab/flood', 'x', { qos: 0 });
    await kicked;
    expect(await metricValue(gw.httpUrl, 'gateway_mqtt_throttled_total', 'qos="0",action="disconnected"')).toBe(1);
    expect(device.connected).toBe(true);
  });

  it('refuses connects over the per-client and total rates and past MAX_CONNECTIONS with CONNACK 3', async () => {
    gw = await startTestGateway({ CONNECT_RATE_PER_CLIENT: '0.2', CONNECT_RATE_TOTAL: '1000', MAX_CONNECTIONS: '2' });
    const first = await connect(gw.mqttUrl, 'rate-1');
    await first.endAsync();
    expect(await refusedWith(gw.mqttUrl, 'rate-1')).toBe(3);
    await connect(gw.mqttUrl, 'cap-1');
    await connect(gw.mqttUrl, 'cap-2');
    expect(await refusedWith(gw.mqttUrl, 'cap-3')).toBe(3);
    expect(await metricValue(gw.httpUrl, 'gateway_mqtt_connect_refused_total', 'reason="client_connect_rate"')).toBe(1);
    expect(await metricValue(gw.httpUrl, 'gateway_mqtt_connect_refused_total', 'reason="max_connections"')).toBe(1);
    await gw.close();

    gw = await startTestGateway({ CONNECT_RATE_TOTAL: '2' });
    await connect(gw.mqttUrl, 'total-1');
    await connect(gw.mqttUrl, 'total-2');
    expect(await refusedWith(gw.mqttUrl, 'total-3')).toBe(3);
    expect(await metricValue(gw.httpUrl, 'gateway_mqtt_connect_refused_total', 'reason="connect_rate"')).toBe(1);
  });

  it('bans a flapping client for a while', async () => {
    gw = await startTestGateway({ FLAP_MAX_CONNECTS: '3', FLAP_WINDOW_MS: '60000', FLAP_BAN_MS: '60000' });
    for (let i = 0; i < 3; i++) await (await connectClient(gw.mqttUrl, { clientId: 'flappy', reconnectPeriod: 0 })).endAsync();
    expect(await refusedWith(gw.mqttUrl, 'flappy')).toBe(3);
    expect(await refusedWith(gw.mqttUrl, 'flappy')).toBe(3);
    expect(await metricValue(gw.httpUrl, 'gateway_mqtt_connect_refused_total', 'reason="banned"')).toBe(2);
    await connect(gw.mqttUrl, 'steady');
  });

  it('caps subscriptions per connection, topic length and topic depth', async () => {
    gw = await startTestGateway({ MAX_SUBSCRIPTIONS: '2', MAX_TOPIC_LENGTH: '32', MAX_TOPIC_LEVELS: '4' });
    const client = await connect(gw.mqttUrl, 'subs-1');
    const granted: number[] = [];
    for (const filter of ['a/1', 'a/2', 'a/3']) {
      await new Promise<void>((resolve) => client.subscribe(filter, (err, g) => {
        granted.push((err as { packet?: { granted: number[] } } | null)?.packet?.granted[0] ?? g![0]!.qos);
        resolve();
      }));
    }
    expect(granted).toEqual([0, 0, 128]);

    const long = await connect(gw.mqttUrl, 'long-1');
    const closedLong = closedPromise(long);
    long.publish(`lab/${'x'.repeat(40)}`, 'x');
    await closedLong;
    const deep = await connect(gw.mqttUrl, 'deep-1');
    const closedDeep = closedPromise(deep);
    deep.publish('a/b/c/d/e', 'x');
    await closedDeep;
  });

  it('a frozen subscriber over TCP or WebSocket cannot stall delivery to others', async () => {
    gw = await startTestGateway({ SLOW_SUBSCRIBER_BYTES: '262144', DRAIN_TIMEOUT_MS: '2000' });
    const port = Number(new URL(gw.mqttUrl).port);
    // A TCP subscriber that subscribes and then never reads again.
    const frozenTcp = net.connect(port, '127.0.0.1');
    sockets.push(frozenTcp);
    frozenTcp.on('error', () => {});
    frozenTcp.write(Buffer.concat([connectBytes('frozen-tcp'), subscribeBytes('lab/load')]));
    // A WebSocket subscriber that does the same.
    const frozenWs = new WebSocket(gw.wsUrl, 'mqtt');
    sockets.push({ destroy: () => frozenWs.terminate() });
    frozenWs.on('error', () => {});
    await new Promise<void>((resolve) => frozenWs.once('open', () => resolve()));
    frozenWs.send(Buffer.concat([connectBytes('frozen-ws'), subscribeBytes('lab/load')]));
    await waitFor(async () => (await metricValue(gw!.httpUrl, 'gateway_mqtt_connections', 'transport="ws"')) === 1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    frozenTcp.pause();
    (frozenWs as unknown as { _socket: net.Socket })._socket.pause();

    const healthy = await connect(gw.wsUrl, 'healthy');
    const received = collect(healthy);
    await healthy.subscribeAsync('lab/load', { qos: 0 });
    const publisher = await connect(gw.mqttUrl, 'loader');
    const total = await publishLoad(publisher, 'lab/load');
    await waitFor(() => received.length === total, { what: `${total} messages at the healthy subscriber`, timeoutMs: 20_000 });
    // Both frozen subscribers hit the limit: each could hold at most the kernel's buffers plus SLOW_SUBSCRIBER_BYTES.
    expect(await metricTotal(gw.httpUrl, 'gateway_mqtt_forward_dropped_total')).toBeGreaterThan(total);
    expect(received).toHaveLength(total);
  });
});
