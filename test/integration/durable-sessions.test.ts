// Durable sessions on one node (issue #8, item 1): with the default broker
// persistence (LevelDB under DATA_DIR/broker), a persistent session's
// subscriptions and queued QoS 1 messages and retained messages outlive a
// restart of the gateway; with BROKER_PERSISTENCE=memory they do not. The
// kill -9 case is durable-crash.test.ts.
import fs from 'node:fs';
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { collect, connectClient, publishReading, waitFor } from '../helpers/clients.js';
import { makeTempDir, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { connectSession } from '../helpers/sessions.js';

const dirs: string[] = [];
const gateways: TestGateway[] = [];
const clients: MqttClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await Promise.all(gateways.splice(0).map((g) => g.close({ keepData: true })));
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

async function start(dataDir: string, env: Record<string, string> = {}): Promise<TestGateway> {
  const gw = await startTestGateway({ DATA_DIR: dataDir, ...env });
  gateways.push(gw);
  return gw;
}

async function client(url: string, options: Parameters<typeof connectClient>[1]): Promise<MqttClient> {
  const c = await connectClient(url, options);
  clients.push(c);
  return c;
}

/** Fills a persistent session's queue while it is offline and sets a retained message. */
async function prepare(gw: TestGateway): Promise<void> {
  const watcher = await client(gw.mqttUrl, { clientId: 'watcher', clean: false });
  await watcher.subscribeAsync('devices/+/telemetry', { qos: 1 });
  await watcher.endAsync();
  const device = await client(gw.mqttUrl, { clientId: 'keeper' });
  for (let seq = 1; seq <= 20; seq++) await publishReading(device, 'keeper', seq);
  await device.publishAsync('lab/config', 'v7', { qos: 1, retain: true });
}

describe('broker persistence across a gateway restart', () => {
  it('keeps a persistent session\'s subscription and its queued QoS 1 messages, and retained messages (default: on disk)', async () => {
    const dataDir = makeTempDir();
    dirs.push(dataDir);
    const before = await start(dataDir);
    await prepare(before);
    await before.close({ keepData: true });
    expect(fs.readdirSync(`${dataDir}/broker`)).toContain('CURRENT');

    const after = await start(dataDir);
    const { client: watcher, sessionPresent } = await connectSession(after.mqttUrl, { clientId: 'watcher', clean: false });
    clients.push(watcher);
    expect(sessionPresent).toBe(true);
    const queued = collect(watcher);
    await waitFor(() => queued.length >= 20, { what: '20 queued readings' });
    expect(queued.map((m) => JSON.parse(m.payload.toString()).seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));

    const late = await client(after.mqttUrl, { clientId: 'late' });
    const retained = collect(late);
    await late.subscribeAsync('lab/#', { qos: 1 });
    await waitFor(() => retained.length === 1, { what: 'retained message' });
    expect(retained[0]!.payload.toString()).toBe('v7');
  });

  it('forgets sessions and retained messages with BROKER_PERSISTENCE=memory', async () => {
    const dataDir = makeTempDir();
    dirs.push(dataDir);
    const before = await start(dataDir, { BROKER_PERSISTENCE: 'memory' });
    await prepare(before);
    await before.close({ keepData: true });
    expect(fs.existsSync(`${dataDir}/broker`)).toBe(false);

    const after = await start(dataDir, { BROKER_PERSISTENCE: 'memory' });
    const { client: watcher, sessionPresent } = await connectSession(after.mqttUrl, { clientId: 'watcher', clean: false });
    clients.push(watcher);
    expect(sessionPresent).toBe(false);
    const late = await client(after.mqttUrl, { clientId: 'late' });
    const retained = collect(late);
    await late.subscribeAsync('lab/#', { qos: 1 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(retained).toEqual([]);
  });

  it('refuses a second gateway on the same data directory instead of sharing its sessions', async () => {
    const dataDir = makeTempDir();
    dirs.push(dataDir);
    await start(dataDir);
    await expect(startTestGateway({ DATA_DIR: dataDir })).rejects.toThrow(/another gateway using this DATA_DIR/);
  });
});
