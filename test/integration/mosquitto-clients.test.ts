import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { connectClient, getJson, publishReading, waitFor } from '../helpers/clients.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { requireTool } from '../helpers/tools.js';

const run = promisify(execFile);
const hasClients = requireTool('mosquitto_pub', 'mosquitto-clients') && requireTool('mosquitto_sub', 'mosquitto-clients');

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

function portOf(url: string): string {
  return new URL(url).port;
}

describe.skipIf(!hasClients)('third-party MQTT clients (mosquitto-clients)', () => {
  it('mosquitto_pub publishes a reading the gateway stores', async () => {
    gw = await startTestGateway();
    const payload = JSON.stringify({ ts: Date.now(), seq: 1, metrics: { temperature: 19.5 } });
    await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', portOf(gw.mqttUrl), '-V', 'mqttv311', '-i', 'mosq-dev', '-q', '1',
      '-t', 'devices/mosq-dev/telemetry', '-m', payload]);
    const page = await waitFor(async () => {
      const { body } = await getJson(`${gw!.httpUrl}/api/devices/mosq-dev/series?metric=temperature`);
      return body.points?.length ? body : null;
    }, { what: 'stored reading' });
    expect(page.points[0].slice(1, 3)).toEqual([19.5, 1]);
  });

  it('mosquitto_sub receives live readings over QoS 1', async () => {
    gw = await startTestGateway();
    const sub = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', portOf(gw.mqttUrl), '-V', 'mqttv311', '-q', '1',
      '-t', 'devices/+/telemetry', '-C', '3', '-W', '20', '-v']);
    let out = '';
    sub.stdout.on('data', (chunk) => (out += chunk));
    const exited = new Promise<number | null>((resolve) => sub.on('exit', resolve));
    const device = await connectClient(gw.mqttUrl, { clientId: 'sub-dev' });
    let seq = 0;
    // mosquitto_sub subscribes asynchronously: publish until it has three.
    await waitFor(async () => {
      await publishReading(device, 'sub-dev', ++seq);
      return out.split('\n').filter(Boolean).length >= 3;
    }, { intervalMs: 100, what: 'mosquitto_sub output' });
    expect(await exited).toBe(0);
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      const [topic, json] = [line.slice(0, line.indexOf(' ')), line.slice(line.indexOf(' ') + 1)];
      expect(topic).toBe('devices/sub-dev/telemetry');
      expect(JSON.parse(json).metrics.temperature).toEqual(expect.any(Number));
    }
    await device.endAsync();
  });
});
