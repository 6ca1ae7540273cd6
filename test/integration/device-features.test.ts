import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { collect, connectClient, getJson, waitFor, type Message } from '../helpers/clients.js';
import { makeTempDir, startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway | undefined;
const clients: MqttClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await gw?.close();
  gw = undefined;
});

async function connect(url: string, clientId: string, extra: Parameters<typeof connectClient>[1] = {}) {
  const client = await connectClient(url, { clientId, ...extra });
  clients.push(client);
  return client;
}

const json = (m: Message) => JSON.parse(m.payload.toString());

async function watchPresence(url: string): Promise<Message[]> {
  const watcher = await connect(url, 'presence-watch');
  const events = collect(watcher);
  await watcher.subscribeAsync('$events/presence/#', { qos: 1 });
  return events;
}

function disconnectEvent(events: Message[], clientId: string, index = 0) {
  return waitFor(() => events.filter((m) => m.topic === `$events/presence/disconnected/${clientId}`).map(json)[index], { what: `disconnect event ${index} of ${clientId}` });
}

describe('presence events', () => {
  it('reports connects and each kind of disconnect with IoT Core lifecycle fields', async () => {
    gw = await startTestGateway();
    const events = await watchPresence(gw.mqttUrl);

    const polite = await connectClient(gw.mqttUrl, { clientId: 'polite' });
    const connected = await waitFor(() => events.map(json).find((e) => e.clientId === 'polite' && e.eventType === 'connected'));
    expect(connected).toMatchObject({ clientId: 'polite', eventType: 'connected', sessionIdentifier: expect.any(String), principalIdentifier: 'anonymous', versionNumber: 1, ipAddress: expect.stringContaining('127.0.0.1') });
    await polite.endAsync();
    expect(await disconnectEvent(events, 'polite')).toMatchObject({ eventType: 'disconnected', clientInitiatedDisconnect: true, disconnectReason: 'CLIENT_INITIATED_DISCONNECT', sessionIdentifier: connected.sessionIdentifier, versionNumber: 2 });

    const dropped = await connectClient(gw.mqttUrl, { clientId: 'dropped' });
    dropped.stream.destroy();
    expect(await disconnectEvent(events, 'dropped')).toMatchObject({ clientInitiatedDisconnect: false, disconnectReason: 'CONNECTION_LOST' });

    await connect(gw.mqttUrl, 'twin');
    await connect(gw.mqttUrl, 'twin');
    expect(await disconnectEvent(events, 'twin')).toMatchObject({ disconnectReason: 'DUPLICATE_CLIENTID' });

    const rogue = await connectClient(gw.mqttUrl, { clientId: 'rogue' });
    rogue.publish('$events/presence/connected/fake', 'x');
    expect(await disconnectEvent(events, 'rogue')).toMatchObject({ disconnectReason: 'FORBIDDEN_ACCESS' });
  });

  it('reports a keepalive timeout', async () => {
    gw = await startTestGateway();
    const events = await watchPresence(gw.mqttUrl);
    // A client that promises a 1 s keepalive and then says nothing, over a raw socket.
    const socket = net.connect(Number(new URL(gw.mqttUrl).port), '127.0.0.1');
    socket.on('error', () => {});
    const id = Buffer.from('sleepy');
    socket.write(Buffer.concat([Buffer.from([0x10, 12 + id.length, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 1, 0, id.length]), id]));
    expect(await disconnectEvent(events, 'sleepy')).toMatchObject({ disconnectReason: 'MQTT_KEEP_ALIVE_TIMEOUT' });
    socket.destroy();
  });

  it('reports a revoked device as AUTH_ERROR and shows presence in /api/devices, without the dashboards', async () => {
    gw = await startTestGateway({ AUTH: 'on' });
    const { secret } = await gw.gateway.registry.create('door-1');
    const token = (await (await fetch(`${gw.httpUrl}/api/tokens`, { method: 'POST' })).json()) as { username: string; token: string };
    const events = collect(await connect(gw.wsUrl, 'dash', { username: token.username, password: token.token }));
    await clients.at(-1)!.subscribeAsync('$events/presence/#');
    await connect(gw.mqttUrl, 'door-1', { username: 'door-1', password: secret });

    const online = await waitFor(async () => (await getJson(`${gw!.httpUrl}/api/devices`)).body.devices.find((d: { id: string; online: boolean }) => d.id === 'door-1' && d.online));
    expect(online).toMatchObject({ id: 'door-1', online: true, metrics: [], connectedAt: expect.any(Number), disconnectReason: null });
    // The dashboard connected with a viewer token is online too, but it is not a device.
    expect((await getJson(`${gw.httpUrl}/api/devices`)).body.devices.map((d: { id: string }) => d.id)).toEqual(['door-1']);
    await fetch(`${gw.httpUrl}/api/admin/devices/door-1`, { method: 'DELETE' });
    expect(await disconnectEvent(events, 'door-1')).toMatchObject({ disconnectReason: 'AUTH_ERROR', principalIdentifier: 'door-1' });
    const offline = (await getJson(`${gw.httpUrl}/api/devices`)).body.devices.find((d: { id: string }) => d.id === 'door-1');
    expect(offline).toMatchObject({ online: false, disconnectReason: 'AUTH_ERROR', disconnectedAt: expect.any(Number) });
  });
});

describe('device shadow over MQTT and HTTP', () => {
  it('an app sets desired state over HTTP, the device gets the delta, reports back, and the shadow persists', async () => {
    const dataDir = makeTempDir();
    gw = await startTestGateway({ DATA_DIR: dataDir });
    const device = await connect(gw.mqttUrl, 'lamp-1');
    const inbox = collect(device);
    await device.subscribeAsync('devices/lamp-1/shadow/#', { qos: 1 });
    const base = `${gw.httpUrl}/api/devices/lamp-1/shadow`;

    expect((await getJson(base)).status).toBe(404);
    const post = (body: unknown) => fetch(base, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const accepted = await post({ state: { desired: { power: 'on', intervalMs: 2000 } } });
    expect(accepted.status).toBe(200);
    expect(await accepted.json()).toMatchObject({ version: 1, state: { desired: { power: 'on', intervalMs: 2000 } } });

    const delta = await waitFor(() => inbox.find((m) => m.topic === 'devices/lamp-1/shadow/update/delta'), { what: 'delta' });
    expect(json(delta!)).toMatchObject({ state: { power: 'on', intervalMs: 2000 }, version: 1 });

    await device.publishAsync('devices/lamp-1/shadow/update', JSON.stringify({ state: { reported: { power: 'on', intervalMs: 2000 } }, clientToken: 'dev-1' }), { qos: 1 });
    const ack = await waitFor(() => inbox.find((m) => m.topic === 'devices/lamp-1/shadow/update/accepted' && json(m).clientToken === 'dev-1'));
    expect(json(ack!)).toMatchObject({ version: 2 });
    const doc = (await getJson(base)).body;
    expect(doc.state).toEqual({ desired: { power: 'on', intervalMs: 2000 }, reported: { power: 'on', intervalMs: 2000 } });

    const conflict = await post({ state: { desired: { power: 'off' } }, version: 1 });
    expect([conflict.status, ((await conflict.json()) as { error: { code: string } }).error.code]).toEqual([409, 'version_conflict']);
    await waitFor(() => inbox.find((m) => m.topic === 'devices/lamp-1/shadow/update/rejected' && json(m).code === 409));

    device.publish('devices/lamp-1/shadow/update', 'not json');
    await waitFor(() => inbox.find((m) => m.topic === 'devices/lamp-1/shadow/update/rejected' && json(m).code === 400));
    await device.publishAsync('devices/lamp-1/shadow/get', JSON.stringify({ clientToken: 'g' }));
    const got = await waitFor(() => inbox.find((m) => m.topic === 'devices/lamp-1/shadow/get/accepted'));
    expect(json(got!)).toMatchObject({ version: 2, clientToken: 'g' });

    await device.endAsync();
    clients.splice(0);
    await gw.close({ keepData: true });
    gw = await startTestGateway({ DATA_DIR: dataDir });
    expect((await getJson(`${gw.httpUrl}/api/devices/lamp-1/shadow`)).body).toMatchObject({ version: 2, state: { reported: { power: 'on' } } });
  });

  it('keeps devices out of other shadows and guards HTTP writes like the admin API', async () => {
    gw = await startTestGateway({ AUTH: 'on', ADMIN_TOKEN: 'admin' });
    const { secret } = await gw.gateway.registry.create('lamp-2');
    await gw.gateway.registry.create('lamp-3');
    const device = await connect(gw.mqttUrl, 'lamp-2', { username: 'lamp-2', password: secret });
    const closed = new Promise<void>((resolve) => device.once('close', () => resolve()));
    device.publish('devices/lamp-3/shadow/update', JSON.stringify({ state: { desired: { power: 'off' } } }));
    await closed;
    expect((await getJson(`${gw.httpUrl}/api/devices/lamp-3/shadow`)).status).toBe(404);

    const write = (auth?: string) => fetch(`${gw!.httpUrl}/api/devices/lamp-2/shadow`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
      body: JSON.stringify({ state: { desired: { power: 'off' } } }),
    });
    expect((await write()).status).toBe(401);
    expect((await write('Bearer admin')).status).toBe(200);
  });
});
