import net from 'node:net';
import mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { rejectionTopic, telemetryTopic } from '../../broker/contract/topics.js';
import { collect, connectClient, getJson, metricValue, publishReading, waitFor } from '../helpers/clients.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway | undefined;
const clients: MqttClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await gw?.close();
  gw = undefined;
});

async function connect(url: string, options: Parameters<typeof connectClient>[1]) {
  const client = await connectClient(url, options);
  clients.push(client);
  return client;
}

/** The CONNACK return code of a refused connect. */
async function refusedWith(url: string, options: Parameters<typeof connectClient>[1]): Promise<number> {
  try {
    clients.push(await connectClient(url, options));
  } catch (err) {
    return (err as { code: number }).code;
  }
  throw new Error('connect was accepted');
}

/** SUBACK return codes, including 0x80 refusals (which MQTT.js reports as an error). */
function subscribeGranted(client: MqttClient, filters: Record<string, { qos: 0 | 1 | 2 }>): Promise<number[]> {
  return new Promise((resolve) => {
    client.subscribe(filters, (err, granted) => {
      const suback = (err as { packet?: { granted: number[] } } | null)?.packet;
      resolve(suback ? suback.granted : (granted ?? []).map((g) => g.qos));
    });
  });
}

/** Sends one CONNECT over a plain socket and answers the CONNACK return code. */
async function rawConnack(url: string, connect: { clean: boolean }): Promise<number> {
  const socket = net.connect(Number(new URL(url).port), '127.0.0.1');
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const connack = new Promise<number>((resolve, reject) => {
    parser.on('packet', (packet) => resolve((packet as { returnCode: number }).returnCode));
    socket.on('data', (chunk) => parser.parse(chunk));
    socket.on('error', reject);
  });
  // mqtt-packet will not encode an empty id without a clean session either: the 14 bytes of MQTT 3.1.1 §3.1 by hand.
  const flags = connect.clean ? 0x02 : 0x00;
  socket.write(Buffer.from([0x10, 12, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, flags, 0, 30, 0, 0]));
  try {
    return await connack;
  } finally {
    socket.destroy();
  }
}

async function post(url: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any };
}

describe('device authentication (AUTH=on)', () => {
  it('admits a provisioned device and refuses wrong secrets (4), id mismatches (2) and anonymous clients (5)', async () => {
    gw = await startTestGateway({ AUTH: 'on' });
    const created = await post(`${gw.httpUrl}/api/admin/devices`, { id: 'sensor-1' });
    expect(created.status).toBe(201);
    const { secret } = created.body;

    const device = await connect(gw.mqttUrl, { clientId: 'sensor-1', username: 'sensor-1', password: secret });
    await publishReading(device, 'sensor-1', 1);
    await waitFor(async () => (await metricValue(gw!.httpUrl, 'gateway_readings_stored_total')) === 1, { what: 'stored' });

    expect(await refusedWith(gw.mqttUrl, { clientId: 'sensor-1', username: 'sensor-1', password: 'wrong' })).toBe(4);
    expect(await refusedWith(gw.mqttUrl, { clientId: 'ghost', username: 'ghost', password: secret })).toBe(4);
    expect(await refusedWith(gw.mqttUrl, { clientId: 'other', username: 'sensor-1', password: secret })).toBe(2);
    expect(await refusedWith(gw.mqttUrl, { clientId: 'sensor-1' })).toBe(5);
    expect(await refusedWith(gw.wsUrl, { clientId: 'sensor-1' })).toBe(5);
    expect(await metricValue(gw.httpUrl, 'gateway_mqtt_connect_refused_total', 'reason="bad_credentials"')).toBe(2);
    expect(await metricValue(gw.httpUrl, 'gateway_mqtt_connect_refused_total', 'reason="id_mismatch"')).toBe(1);
    expect(await metricValue(gw.httpUrl, 'gateway_mqtt_connect_refused_total', 'reason="anonymous"')).toBe(2);
  });

  it('revoking a device closes its connection and refuses it; rotating swaps the secret', async () => {
    gw = await startTestGateway({ AUTH: 'on' });
    const { secret } = (await post(`${gw.httpUrl}/api/admin/devices`, { id: 'dev-r' })).body;
    const device = await connect(gw.mqttUrl, { clientId: 'dev-r', username: 'dev-r', password: secret });
    const closed = new Promise<void>((resolve) => device.once('close', () => resolve()));

    const rotated = await post(`${gw.httpUrl}/api/admin/devices/dev-r/rotate`);
    expect(rotated.status).toBe(200);
    await closed;
    expect(await refusedWith(gw.mqttUrl, { clientId: 'dev-r', username: 'dev-r', password: secret })).toBe(4);
    await connect(gw.mqttUrl, { clientId: 'dev-r', username: 'dev-r', password: rotated.body.secret });

    const revoked = await fetch(`${gw.httpUrl}/api/admin/devices/dev-r`, { method: 'DELETE' });
    expect(revoked.status).toBe(200);
    expect(await refusedWith(gw.mqttUrl, { clientId: 'dev-r', username: 'dev-r', password: rotated.body.secret })).toBe(4);
    const { body } = await getJson(`${gw.httpUrl}/api/admin/devices`);
    expect(body.devices).toEqual([expect.objectContaining({ id: 'dev-r', revokedAt: expect.any(Number) })]);
    expect(JSON.stringify(body)).not.toContain(rotated.body.secret);
  });

  it('keeps a device to its own topics', async () => {
    gw = await startTestGateway({ AUTH: 'on' });
    const a = await gw.gateway.registry.create('dev-a');
    await gw.gateway.registry.create('dev-b');
    const device = await connect(gw.mqttUrl, { clientId: 'dev-a', username: 'dev-a', password: a.secret });
    const notices = collect(device);
    const granted = await subscribeGranted(device, {
      'devices/dev-a/shadow/#': { qos: 1 },
      [rejectionTopic('dev-a')]: { qos: 0 },
      'devices/dev-b/shadow/#': { qos: 1 },
      'devices/+/telemetry': { qos: 0 },
      '#': { qos: 0 },
    });
    expect(granted).toEqual([1, 0, 128, 128, 128]);

    // Telemetry for another device: refused like bad data, the connection stays.
    await device.publishAsync(telemetryTopic('dev-b'), JSON.stringify({ metrics: { t: 1 } }), { qos: 1 });
    await waitFor(() => notices.some((m) => JSON.parse(m.payload.toString()).reason === 'foreign_topic'), { what: 'notice' });
    expect(device.connected).toBe(true);

    // Any other foreign topic is a policy violation that closes the connection.
    const closed = new Promise<void>((resolve) => device.once('close', () => resolve()));
    device.publish('devices/dev-b/shadow/update', '{}', { qos: 0 });
    await closed;
    expect(await metricValue(gw.httpUrl, 'gateway_mqtt_policy_denied_total', 'action="publish"')).toBe(1);
    expect(await metricValue(gw.httpUrl, 'gateway_mqtt_policy_denied_total', 'action="subscribe"')).toBe(3);
  });

  it('guards the admin API with ADMIN_TOKEN when one is set', async () => {
    gw = await startTestGateway({ AUTH: 'on', ADMIN_TOKEN: 'let-me-in' });
    expect((await post(`${gw.httpUrl}/api/admin/devices`, { id: 'x' })).status).toBe(401);
    expect((await post(`${gw.httpUrl}/api/admin/devices`, { id: 'x' }, { authorization: 'Bearer nope' })).status).toBe(401);
    expect((await post(`${gw.httpUrl}/api/admin/devices`, { id: 'x' }, { authorization: 'Bearer let-me-in' })).status).toBe(201);
    const bad = await post(`${gw.httpUrl}/api/admin/devices`, { id: '../x' }, { authorization: 'Bearer let-me-in' });
    expect([bad.status, bad.body.error.code]).toEqual([400, 'bad_body']);
  });
});

describe('viewer tokens for browsers', () => {
  it('a token from the API lets a WebSocket client read telemetry and nothing else', async () => {
    gw = await startTestGateway({ AUTH: 'on' });
    const { secret } = await gw.gateway.registry.create('dev-v');
    const token = await post(`${gw.httpUrl}/api/tokens`);
    expect(token.status).toBe(200);
    expect(token.body).toMatchObject({ username: '$viewer', token: expect.any(String), expiresAt: expect.any(Number), path: '/mqtt' });

    const viewer = await connect(gw.wsUrl, { clientId: 'dash-1', username: token.body.username, password: token.body.token });
    const received = collect(viewer);
    const granted = await subscribeGranted(viewer, { 'devices/+/telemetry': { qos: 0 }, 'devices/dev-v/shadow/#': { qos: 0 } });
    expect(granted).toEqual([0, 128]);
    const device = await connect(gw.mqttUrl, { clientId: 'dev-v', username: 'dev-v', password: secret });
    await publishReading(device, 'dev-v', 1);
    await waitFor(() => received.length === 1, { what: 'live reading' });

    const closed = new Promise<void>((resolve) => viewer.once('close', () => resolve()));
    viewer.publish(telemetryTopic('dev-v'), JSON.stringify({ metrics: { t: 666 } }));
    await closed;
    expect(await refusedWith(gw.wsUrl, { clientId: 'dash-2', username: '$viewer', password: `${token.body.token}x` })).toBe(4);
  });
});

describe('protocol corrections', () => {
  it('refuses an empty client id with a persistent session [MQTT-3.1.3-8], even with AUTH=off', async () => {
    gw = await startTestGateway();
    // MQTT.js will not send this CONNECT, so it goes over a raw socket.
    expect(await rawConnack(gw.mqttUrl, { clean: false })).toBe(2);
    expect(await rawConnack(gw.mqttUrl, { clean: true })).toBe(0);
  });
});
