// The simulators against the real gateway: the CLI end to end over TCP and
// WebSocket, with per-device credentials, and offline buffering across a
// gateway restart on the same port.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { run, type CliIo } from '../../devices/cli.js';
import { startFleet, type Fleet } from '../../devices/fleet.js';
import { getJson, metricValue, waitFor } from '../helpers/clients.js';
import { makeTempDir, startTestGateway, type TestGateway } from '../helpers/gateway.js';

type Point = [ts: number, value: number, seq: number, receivedAt: number, storedAt: number];

async function storedSeqs(httpUrl: string, deviceId: string, metric: string): Promise<number[]> {
  const { body } = await getJson<{ points: Point[] }>(`${httpUrl}/api/devices/${deviceId}/series?metric=${metric}&after=0&limit=10000`);
  return body.points.map((p) => p[2]);
}

function gapsIn(seqs: number[]): number[] {
  const seen = new Set(seqs);
  const max = Math.max(...seqs);
  return Array.from({ length: max + 1 }, (_, i) => i).filter((i) => !seen.has(i));
}

const gateways: TestGateway[] = [];
const fleets: Fleet[] = [];
afterEach(async () => {
  await Promise.all(fleets.splice(0).map((f) => f.stop()));
  await Promise.all(gateways.splice(0).map((g) => g.close()));
});

function captureIo(): CliIo & { out: string; err: string } {
  const io = { out: '', err: '', tty: false, stdout: (t: string) => void (io.out += t), stderr: (t: string) => void (io.err += t) };
  return io;
}

describe('npm run devices against the gateway', () => {
  it.each([['mqtt', 'tcp'], ['ws', 'ws']] as const)('over %s: publishes --messages readings per device, all stored, then exits 0 with a JSON summary', async (scheme, prefix) => {
    const gw = await startTestGateway();
    gateways.push(gw);
    const url = scheme === 'mqtt' ? gw.mqttUrl : gw.wsUrl;
    const io = captureIo();
    const code = await run(['--url', url, '--count', '3', '--rate', '20', '--messages', '10', '--id-prefix', prefix, '--profile', 'power-meter', '--json', '--log-every', '0.5'], io);
    expect(code, io.err).toBe(0);
    const summary = JSON.parse(io.out) as { acknowledged: number; produced: number; stoppedBy: string; devices: number };
    expect(summary).toMatchObject({ devices: 3, produced: 30, acknowledged: 30, stoppedBy: 'done' });
    await waitFor(async () => (await metricValue(gw.httpUrl, 'gateway_readings_stored_total')) >= 30, { what: 'stored readings' });
    for (const id of [`${prefix}-0001`, `${prefix}-0002`, `${prefix}-0003`]) {
      expect(await storedSeqs(gw.httpUrl, id, 'energy')).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
    expect(io.err).toMatch(/connected \d\/3/);
  });

  it('--credentials: with AUTH=on each device logs in as itself with its secret; an id missing from the file exits 2', async () => {
    const gw = await startTestGateway({ AUTH: 'on' });
    gateways.push(gw);
    const devices = await Promise.all(['auth-0001', 'auth-0002'].map((id) => gw.gateway.registry.provision(id)));
    const file = path.join(makeTempDir('creds-'), 'credentials.json');
    fs.writeFileSync(file, JSON.stringify({ devices: devices.map(({ id, secret }) => ({ id, secret })) }));
    const argv = ['--url', gw.mqttUrl, '--id-prefix', 'auth', '--rate', '20', '--messages', '5', '--credentials', file, '--json'];

    const io = captureIo();
    expect(await run([...argv, '--count', '2'], io), io.err).toBe(0);
    expect(JSON.parse(io.out)).toMatchObject({ connects: 2, acknowledged: 10, errors: 0 });

    const missing = captureIo();
    expect(await run([...argv, '--count', '3'], missing)).toBe(2);
    expect(missing.err).toContain('no credentials for 1 device(s), e.g. auth-0003');
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });

  it('a gateway restart on the same port leaves no gap in the stored series', async () => {
    let gw = await startTestGateway();
    const port = new URL(gw.mqttUrl).port;
    const dataDir = gw.dataDir;
    const fleet = await startFleet({ url: gw.mqttUrl, count: 4, rate: 25, ramp: 0, profile: 'thermostat', backoff: { baseMs: 100, maxMs: 400 } });
    fleets.push(fleet);
    await waitFor(async () => (await metricValue(gw.httpUrl, 'gateway_readings_stored_total')) >= 40, { what: 'readings before the restart' });

    await gw.close({ keepData: true });
    await waitFor(() => fleet.stats().buffered >= 40, { what: 'readings buffered while the gateway is down' });
    gw = await startTestGateway({ MQTT_PORT: port, DATA_DIR: dataDir });
    gateways.push(gw);
    await waitFor(() => fleet.stats().connected === 4 && fleet.stats().buffered === 0, { what: 'reconnect and backlog sent' });
    await fleet.stop();
    const stats = fleet.stats();
    expect(stats.reconnects).toBe(4);
    expect(stats.dropped).toBe(0);
    await waitFor(async () => (await metricValue(gw.httpUrl, 'gateway_ingest_queue_depth')) === 0, { what: 'ingest drained' });

    for (const id of fleet.ids) {
      const seqs = await storedSeqs(gw.httpUrl, id, 'temperature');
      expect(gapsIn(seqs), id).toEqual([]);
      expect(Math.max(...seqs)).toBeGreaterThan(15);
    }
  });
});
