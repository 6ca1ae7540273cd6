import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { WebSocket } from 'ws';
import { ALL_TELEMETRY, telemetryTopic } from '../../broker/contract/topics.js';
import { collect, connectClient, getJson, metricValue, waitFor } from '../helpers/clients.js';
import { connectPacket, fuzzPacket, seeded, type FuzzKind } from '../helpers/fuzz.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261128);
const CONNECTIONS = 1_000;
const PACKETS_PER_CONNECTION = 101;

let gw: TestGateway;
beforeAll(async () => {
  // Connect limits stay at their defaults: the CONNECT floods are part of the attack.
  gw = await startTestGateway({ CONNECT_RATE_TOTAL: '1000', CONNECT_RATE_PER_CLIENT: '1', FLAP_MAX_CONNECTS: '15' });
});
afterAll(() => gw.close());

function heapMiB(): number {
  globalThis.gc?.();
  globalThis.gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

/** One hostile connection: usually a valid CONNECT first (to reach the parser's later states), then fuzz, then close. */
async function attack(rng: () => number, transport: 'tcp' | 'ws', index: number, kinds: Map<FuzzKind, number>): Promise<number> {
  const chunks: Buffer[] = rng() < 0.8 ? [connectPacket(`fz-${transport}-${index}`)] : [];
  for (let i = 0; i < PACKETS_PER_CONNECTION; i++) {
    const { kind, bytes } = fuzzPacket(rng);
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    chunks.push(bytes);
  }
  const payload = Buffer.concat(chunks);
  if (transport === 'tcp') {
    await new Promise<void>((resolve) => {
      const socket = net.connect(Number(new URL(gw.mqttUrl).port), '127.0.0.1');
      socket.on('error', () => resolve());
      socket.on('close', () => resolve());
      socket.on('data', () => {});
      // Several writes, so packets also straddle TCP segments.
      socket.on('connect', () => {
        for (let at = 0; at < payload.length; at += 700) socket.write(payload.subarray(at, at + 700));
        setTimeout(() => socket.destroy(), 200);
      });
    });
  } else {
    await new Promise<void>((resolve) => {
      const ws = new WebSocket(gw.wsUrl, 'mqtt');
      ws.on('error', () => resolve());
      ws.on('close', () => resolve());
      ws.on('open', () => {
        for (let at = 0; at < payload.length; at += 700) ws.send(payload.subarray(at, at + 700));
        setTimeout(() => ws.terminate(), 200);
      });
    });
  }
  return chunks.length;
}

describe('hostile MQTT input', () => {
  it(`survives ${CONNECTIONS * PACKETS_PER_CONNECTION} fuzzed packets over TCP and WebSocket while a device and a subscriber keep flowing`, async () => {
    const subscriber = await connectClient(gw.wsUrl, { clientId: 'fuzz-watch' });
    const live = collect(subscriber);
    await subscriber.subscribeAsync(ALL_TELEMETRY, { qos: 1 });
    const device: MqttClient = await connectClient(gw.mqttUrl, { clientId: 'fuzz-dev' });
    const baseline = heapMiB();

    let published = 0;
    let flowing = true;
    const steady = (async () => {
      while (flowing) {
        published += 1;
        await device.publishAsync(telemetryTopic('fuzz-dev'), JSON.stringify({ seq: published, metrics: { t: published } }), { qos: 1 });
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();

    const rng = seeded(SEED);
    const kinds = new Map<FuzzKind, number>();
    let sent = 0;
    const lanes = 8;
    await Promise.all(Array.from({ length: lanes }, async (_, lane) => {
      for (let i = lane; i < CONNECTIONS; i += lanes) {
        const packets = await attack(rng, i % 2 === 0 ? 'tcp' : 'ws', i, kinds);
        sent += packets;
      }
    }));
    flowing = false;
    await steady;

    expect(sent).toBeGreaterThanOrEqual(100_000);
    expect(device.connected).toBe(true);
    expect(subscriber.connected).toBe(true);
    await waitFor(() => live.filter((m) => m.topic === telemetryTopic('fuzz-dev')).length >= published, { what: 'all steady readings live', timeoutMs: 10_000 });
    await waitFor(async () => (await getJson(`${gw.httpUrl}/api/devices/fuzz-dev/series?metric=t&after=0&limit=10000`)).body.points?.length === published,
      { what: 'all steady readings stored', timeoutMs: 10_000 });
    expect((await getJson(`${gw.httpUrl}/healthz`)).status).toBe(200);

    await Promise.all([device.endAsync(), subscriber.endAsync()]);
    await waitFor(async () => (await metricValue(gw.httpUrl, 'gateway_mqtt_connections', 'transport="tcp"')) === 0, { what: 'fuzz connections gone' });
    const after = heapMiB();
    console.log(`fuzz: seed ${SEED}, ${sent} packets over ${CONNECTIONS} connections ${JSON.stringify(Object.fromEntries(kinds))}`,
      `steady readings ${published}, heap ${baseline.toFixed(1)} -> ${after.toFixed(1)} MiB`,
      `client errors ${await metricValue(gw.httpUrl, 'gateway_mqtt_client_errors_total')}, oversized ${await metricValue(gw.httpUrl, 'gateway_mqtt_oversized_packets_total')}`);
    // Near the baseline: what the fuzz left behind is bounded, not proportional to what it sent.
    expect(after - baseline).toBeLessThan(32);
  });
});
