// MQTT over WebSocket through the gateway's adapter (broker/mqtt/ws-stream.ts):
// WebSocket frames and MQTT packets need not line up [MQTT-6.0.0-2], only
// binary frames are accepted [MQTT-6.0.0-1], a subscriber that stops reading
// is shed exactly as over TCP, and either side can end the connection.
import { once } from 'node:events';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import mqttPacket, { type IPublishPacket, type Packet } from 'mqtt-packet';
import { WebSocket } from 'ws';
import { collect, connectClient, metricTotal, metricValue, publishLoad, waitFor, type Message } from '../helpers/clients.js';
import { connectPacket } from '../helpers/fuzz.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway | undefined;
const clients: MqttClient[] = [];
const raws: RawClient[] = [];
afterEach(async () => {
  raws.splice(0).forEach((raw) => raw.ws.terminate());
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await gw?.close();
  gw = undefined;
});

async function connect(url: string, clientId: string, extra: Parameters<typeof connectClient>[1] = {}): Promise<MqttClient> {
  const client = await connectClient(url, { clientId, ...extra });
  clients.push(client);
  return client;
}

/** A WebSocket client that sends whatever bytes and frames a test chooses and parses what comes back. */
interface RawClient {
  ws: WebSocket;
  packets: Packet[];
  /** Binary frames received so far. */
  frames(): number;
  /** Resolves with the close code the client saw. */
  closed: Promise<number>;
}

async function openRaw(url: string): Promise<RawClient> {
  const ws = new WebSocket(url, 'mqtt');
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const packets: Packet[] = [];
  let frames = 0;
  parser.on('packet', (packet) => packets.push(packet));
  ws.on('message', (data: Buffer) => {
    frames += 1;
    parser.parse(data);
  });
  ws.on('error', () => {});
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  await once(ws, 'open');
  const raw = { ws, packets, frames: () => frames, closed };
  raws.push(raw);
  return raw;
}

const bytes = (packet: Parameters<typeof mqttPacket.generate>[0]) => mqttPacket.generate(packet);
const subscribePacket = (topic: string) => bytes({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 0 }] });
const publishPacket = (topic: string, payload: string | Buffer, qos: 0 | 1 = 0, messageId = 1) =>
  bytes({ cmd: 'publish', topic, payload, qos, messageId, retain: false, dup: false });
const publishes = (raw: RawClient) => raw.packets.filter((p): p is IPublishPacket => p.cmd === 'publish');
const payloads = (messages: Message[], topic: string) => messages.filter((m) => m.topic === topic).map((m) => m.payload.toString());

async function rawSubscriber(url: string, clientId: string, topic: string): Promise<RawClient> {
  const raw = await openRaw(url);
  raw.ws.send(Buffer.concat([connectPacket(clientId), subscribePacket(topic)]));
  await waitFor(() => raw.packets.some((p) => p.cmd === 'suback'), { what: `${clientId}'s SUBACK` });
  return raw;
}

describe('MQTT over WebSocket', () => {
  it('parses several MQTT packets in one frame, both ways', async () => {
    gw = await startTestGateway();
    const raw = await openRaw(gw.wsUrl);
    // CONNECT and SUBSCRIBE in one frame; CONNACK and SUBACK come back in order.
    raw.ws.send(Buffer.concat([connectPacket('multi'), subscribePacket('lab/multi')]));
    await waitFor(() => raw.packets.length >= 2, { what: 'CONNACK and SUBACK' });
    expect(raw.packets.map((p) => p.cmd)).toEqual(['connack', 'suback']);
    // Three publishes in one frame, QoS 0 and 1: all routed, each QoS 1 acknowledged.
    raw.ws.send(Buffer.concat([publishPacket('lab/multi', 'a'), publishPacket('lab/multi', 'b', 1, 7), publishPacket('lab/multi', 'c', 1, 8)]));
    await waitFor(() => publishes(raw).length === 3 && raw.packets.filter((p) => p.cmd === 'puback').length === 2, { what: 'three messages and two PUBACKs' });
    expect(publishes(raw).map((p) => p.payload.toString())).toEqual(['a', 'b', 'c']);

    // A burst to one subscriber leaves the gateway in far fewer frames than messages.
    const sink = await rawSubscriber(gw.wsUrl, 'sink', 'lab/burst');
    const before = sink.frames();
    const publisher = await connect(gw.mqttUrl, 'burster');
    const total = 200;
    for (let i = 0; i < total; i++) publisher.publish('lab/burst', String(i), { qos: 0 });
    await waitFor(() => publishes(sink).length === total, { what: `${total} messages at the sink` });
    expect(publishes(sink).map((p) => p.payload.toString())).toEqual(Array.from({ length: total }, (_, i) => String(i)));
    expect(sink.frames() - before).toBeLessThan(total / 4);
  });

  it('parses packets split across frames', async () => {
    gw = await startTestGateway();
    const watcher = await connect(gw.wsUrl, 'split-watch');
    const received = collect(watcher);
    await watcher.subscribeAsync('lab/split');
    const raw = await openRaw(gw.wsUrl);
    raw.ws.send(connectPacket('splitter'));
    await waitFor(() => raw.packets.some((p) => p.cmd === 'connack'), { what: 'CONNACK' });
    const first = publishPacket('lab/split', 'x'.repeat(1000));
    const second = publishPacket('lab/split', 'second');
    // The fixed header alone, the body in two pieces with the next packet's start, then its rest.
    for (const frame of [first.subarray(0, 1), first.subarray(1, 500), Buffer.concat([first.subarray(500), second.subarray(0, 3)]), second.subarray(3)]) {
      raw.ws.send(frame);
    }
    await waitFor(() => received.length === 2, { what: 'both messages' });
    expect(payloads(received, 'lab/split')).toEqual(['x'.repeat(1000), 'second']);
  });

  it('carries a 1 MiB payload both ways', async () => {
    gw = await startTestGateway({ MAX_PACKET_BYTES: String(2 * 2 ** 20) });
    const subscriber = await connect(gw.wsUrl, 'big-sub');
    const received = collect(subscriber);
    await subscriber.subscribeAsync('lab/big');
    const publisher = await connect(gw.wsUrl, 'big-pub');
    const payload = Buffer.alloc(2 ** 20);
    for (let i = 0; i < payload.length; i++) payload[i] = i % 251;
    await publisher.publishAsync('lab/big', payload, { qos: 1 });
    await publisher.publishAsync('lab/big', 'after', { qos: 1 });
    await waitFor(() => received.length === 2, { what: 'the large message and the one after it' });
    expect(received[0]!.payload.equals(payload)).toBe(true);
    expect(received[1]!.payload.toString()).toBe('after');
  });

  it('sheds and counts messages to a subscriber that stops reading, and it recovers when it reads again', async () => {
    gw = await startTestGateway({ SLOW_SUBSCRIBER_BYTES: '262144', DRAIN_TIMEOUT_MS: '2000' });
    const frozen = await rawSubscriber(gw.wsUrl, 'frozen', 'lab/load');
    const socket = (frozen.ws as unknown as { _socket: net.Socket })._socket;
    socket.pause();
    const healthy = await connect(gw.wsUrl, 'healthy');
    const received = collect(healthy);
    await healthy.subscribeAsync('lab/load');
    const publisher = await connect(gw.wsUrl, 'loader');
    const total = await publishLoad(publisher, 'lab/load');
    await waitFor(() => received.length === total, { what: `${total} messages at the healthy subscriber`, timeoutMs: 20_000 });
    const dropped = await metricTotal(gw.httpUrl, 'gateway_mqtt_forward_dropped_total');
    // The frozen subscriber got at most what the kernel and SLOW_SUBSCRIBER_BYTES hold; the rest was shed and counted.
    expect(dropped).toBeGreaterThan(total / 2);
    // Shed, not disconnected: once it reads again, new messages reach it.
    socket.resume();
    await waitFor(async () => {
      await publisher.publishAsync('lab/load', 'fresh', { qos: 1 });
      return publishes(frozen).some((p) => p.payload.toString() === 'fresh');
    }, { what: 'a fresh message at the recovered subscriber', timeoutMs: 10_000, intervalMs: 100 });
    expect(publishes(frozen).length + dropped).toBeGreaterThanOrEqual(total);
    expect(await metricValue(gw.httpUrl, 'gateway_mqtt_connections', 'transport="ws"')).toBe(3);
  });

  describe('closing', () => {
    async function watch(url: string): Promise<Message[]> {
      const watcher = await connect(url, 'close-watch');
      const events = collect(watcher);
      await watcher.subscribeAsync(['$events/presence/disconnected/#', 'lab/will']);
      return events;
    }
    const disconnectReason = (events: Message[], clientId: string) =>
      waitFor(() => events.filter((m) => m.topic === `$events/presence/disconnected/${clientId}`).map((m) => JSON.parse(m.payload.toString()).disconnectReason as string)[0], {
        what: `the disconnect event of ${clientId}`,
      });
    const wsConnections = () => metricValue(gw!.httpUrl, 'gateway_mqtt_connections', 'transport="ws"');

    it('ends the session when the client closes, politely or not', async () => {
      gw = await startTestGateway();
      const events = await watch(gw.mqttUrl);
      const polite = await connectClient(gw.wsUrl, { clientId: 'polite' });
      await polite.endAsync();
      expect(await disconnectReason(events, 'polite')).toBe('CLIENT_INITIATED_DISCONNECT');
      // Gone without DISCONNECT or a close frame: the connection is lost and the will is published.
      const rude = await connectClient(gw.wsUrl, { clientId: 'rude', will: { topic: 'lab/will', payload: Buffer.from('rude is gone'), qos: 0, retain: false } });
      rude.stream.destroy();
      expect(await disconnectReason(events, 'rude')).toBe('CONNECTION_LOST');
      await waitFor(() => payloads(events, 'lab/will').includes('rude is gone'), { what: 'the will' });
      // A close frame without DISCONNECT.
      const raw = await openRaw(gw.wsUrl);
      raw.ws.send(connectPacket('closer'));
      await waitFor(() => raw.packets.some((p) => p.cmd === 'connack'), { what: 'CONNACK' });
      raw.ws.close(1000);
      expect(await disconnectReason(events, 'closer')).toBe('CONNECTION_LOST');
      await waitFor(async () => (await wsConnections()) === 0, { what: 'no WebSocket connections left' });
    });

    it('closes with a close frame when the gateway ends a session, and drops the connection on an error', async () => {
      gw = await startTestGateway();
      const events = await watch(gw.mqttUrl);
      // Taken over by a second connection with the same client id: a clean close (1000) after what was sent.
      const twin = await openRaw(gw.wsUrl);
      twin.ws.send(connectPacket('twin'));
      await waitFor(() => twin.packets.some((p) => p.cmd === 'connack'), { what: 'CONNACK' });
      const successor = await connect(gw.wsUrl, 'twin');
      expect(await twin.closed).toBe(1000);
      expect(await disconnectReason(events, 'twin')).toBe('DUPLICATE_CLIENTID');
      expect(successor.connected).toBe(true);
      // A keepalive timeout is an error: the TCP connection goes without a close frame (1006).
      const sleepy = await openRaw(gw.wsUrl);
      sleepy.ws.send(connectPacket('sleepy', 1));
      expect(await sleepy.closed).toBe(1006);
      expect(await disconnectReason(events, 'sleepy')).toBe('MQTT_KEEP_ALIVE_TIMEOUT');
      // [MQTT-6.0.0-1]: a text frame closes the connection.
      const errorsBefore = await metricTotal(gw.httpUrl, 'gateway_mqtt_client_errors_total');
      const texter = await openRaw(gw.wsUrl);
      texter.ws.send(connectPacket('texter'));
      await waitFor(() => texter.packets.some((p) => p.cmd === 'connack'), { what: 'CONNACK' });
      texter.ws.send('not MQTT');
      expect(await texter.closed).toBe(1006);
      expect(await metricTotal(gw.httpUrl, 'gateway_mqtt_client_errors_total')).toBe(errorsBefore + 1);
      await waitFor(async () => (await wsConnections()) === 1, { what: 'only the successor connected' });
    });
  });
});
