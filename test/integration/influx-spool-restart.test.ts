// The spool outlives the gateway process: stopped with SIGTERM while InfluxDB
// is down, the gateway exits cleanly and leaves the acknowledged readings on
// disk; the next start replays them once InfluxDB is back.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, getJson, metricValue, publishReading, waitFor } from '../helpers/clients.js';
import { makeTempDir } from '../helpers/gateway.js';
import { freePorts } from '../../lab/gateway-process.js';
import { influxdAvailable, startInfluxd, type Influxd } from '../helpers/influxd.js';

const hasInfluxd = influxdAvailable();

interface GatewayProcess {
  child: ChildProcess;
  log: () => string;
  exited: Promise<number | null>;
}

/** `broker/main.ts` as its own process (through tsx), as `npm start` runs it, on the given ports. */
async function startGateway(env: Record<string, string>, httpUrl: string): Promise<GatewayProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'broker/main.ts'], {
    env: { ...process.env, DEMO: 'off', AUTH: 'off', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}:\n${output}`);
    return fetch(`${httpUrl}/healthz`).then((r) => r.ok, () => false);
  }, { timeoutMs: 20_000, intervalMs: 100, what: 'gateway process' });
  return { child, log: () => output, exited };
}

describe.skipIf(!hasInfluxd)('spool across a gateway restart', () => {
  let influxd: Influxd;
  let dataDir: string;
  let running: GatewayProcess | undefined;

  beforeAll(async () => {
    influxd = await startInfluxd();
    dataDir = makeTempDir();
  });
  afterAll(async () => {
    if (running && running.child.exitCode === null) {
      running.child.kill('SIGTERM');
      await running.exited;
    }
    await influxd?.dispose();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps the spool when stopped with SIGTERM while InfluxDB is down, and the next start replays it', { timeout: 60_000 }, async () => {
    const [mqttPort, httpPort] = await freePorts(2) as [number, number];
    const httpUrl = `http://127.0.0.1:${httpPort}`;
    const env = {
      STORE: 'influxdb', INFLUX_URL: influxd.url, DATA_DIR: dataDir, MQTT_PORT: String(mqttPort), HTTP_PORT: String(httpPort),
      STORE_RETRY_MAX_MS: '1000',
    };
    const storedSeqs = async () => {
      const [result] = await influxd.query('SELECT "seq" FROM "points" WHERE "device" = \'keeper\'');
      return (result.series?.[0]?.values ?? []).map((v: number[]) => v[1]).sort((a: number, b: number) => a - b);
    };

    running = await startGateway(env, httpUrl);
    let device = await connectClient(`mqtt://127.0.0.1:${mqttPort}`, { clientId: 'keeper' });
    for (let seq = 1; seq <= 200; seq++) await publishReading(device, 'keeper', seq);
    await waitFor(async () => (await storedSeqs()).length === 200, { what: 'first 200 stored' });

    await influxd.stop();
    for (let seq = 201; seq <= 500; seq++) await publishReading(device, 'keeper', seq);
    await device.endAsync();
    await waitFor(async () => (await metricValue(httpUrl, 'gateway_spool_readings')) === 300, { what: '300 readings spooled' });
    expect((await getJson(`${httpUrl}/readyz`)).body).toMatchObject({ status: 'degraded', spooledReadings: 300 });

    running.child.kill('SIGTERM');
    expect(await running.exited).toBe(0);
    expect(running.log()).toContain('readings remain in the spool');
    const spoolFiles = fs.readdirSync(path.join(dataDir, 'spool')).filter((f) => f.endsWith('.spool'));
    expect(spoolFiles.length).toBeGreaterThan(0);

    await influxd.start();
    running = await startGateway(env, httpUrl);
    await waitFor(async () => (await storedSeqs()).length >= 500, { timeoutMs: 15_000, what: 'spool replayed after restart' });
    expect(await storedSeqs()).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    await waitFor(async () => (await getJson(`${httpUrl}/readyz`)).body.status === 'ready', { what: 'ready again' });
    expect(fs.readdirSync(path.join(dataDir, 'spool'))).toEqual([]);

    // Still one series in storage order: a device that publishes now comes after the replayed readings.
    device = await connectClient(`mqtt://127.0.0.1:${mqttPort}`, { clientId: 'keeper' });
    await publishReading(device, 'keeper', 501);
    await device.endAsync();
    const page = await waitFor(async () => {
      const { body } = await getJson(`${httpUrl}/api/devices/keeper/series?metric=temperature&after=0&limit=1000`);
      return body.points?.length === 501 ? body : null;
    }, { what: 'all 501 served' });
    expect(page.points.map((p: number[]) => p[2])).toEqual(Array.from({ length: 501 }, (_, i) => i + 1));

    running.child.kill('SIGTERM');
    expect(await running.exited).toBe(0);
  });
});
