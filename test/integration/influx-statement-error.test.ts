// A statement InfluxDB runs and fails (answered with 200 and an error in its
// result) is a store failure to retry, not a refusal: the readings behind it
// wait in the spool, acknowledged, and reach InfluxDB once the statement
// succeeds. A CI run once dropped a batch of 89 readings, and disconnected
// their devices without PUBACK, on "query engine shutdown" from an influxd
// stopping. Here an operator's limit, `max-select-series = 1`, fails the
// query of the store's set-up that spans every series (the newest point)
// after a gateway restart; the write path's queries go through the same code.
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, metricValue, publishReading, waitFor, within } from '../helpers/clients.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { influxdAvailable, startInfluxd, type Influxd } from '../helpers/influxd.js';

const hasInfluxd = influxdAvailable();
const LIMITED = '[coordinator]\n  max-select-series = 1\n';
const DEVICES = ['stmt-a', 'stmt-b'];

describe.skipIf(!hasInfluxd)('a statement InfluxDB runs and fails', () => {
  let influxd: Influxd;
  let gw: TestGateway;
  let clients: MqttClient[] = [];
  const disconnected: string[] = [];

  async function startGateway(dataDir?: string): Promise<void> {
    gw = await startTestGateway({ STORE: 'influxdb', INFLUX_URL: influxd.url, STORE_RETRY_MS: '100', STORE_RETRY_MAX_MS: '500', ...(dataDir ? { DATA_DIR: dataDir } : {}) });
    clients = await Promise.all(DEVICES.map((clientId) => connectClient(gw.mqttUrl, { clientId })));
    clients.forEach((client, i) => client.on('close', () => {
      if (!client.disconnecting) disconnected.push(DEVICES[i]!);
    }));
  }

  beforeAll(async () => {
    influxd = await startInfluxd();
    await startGateway();
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await gw?.close();
    await influxd?.dispose();
  });

  async function restartInfluxd(extraConfig: string): Promise<void> {
    await influxd.stop();
    influxd.configure(extraConfig);
    await influxd.start();
  }

  /** Publishes seqs `from`..`to` of every device, one QoS 1 reading at a time, each acknowledged within 10 s. */
  async function publish(from: number, to: number): Promise<void> {
    for (let seq = from; seq <= to; seq++) {
      const sent = clients.map((c, i) => publishReading(c, DEVICES[i]!, seq));
      await within(Promise.all(sent), 10_000, () => `acknowledgement of seq ${seq} (devices disconnected: ${disconnected.join(', ') || 'none'})`);
    }
  }

  const counter = (name: string) => metricValue(gw.httpUrl, `gateway_readings_${name}_total`);

  async function replayed(readings: number): Promise<void> {
    await waitFor(async () => (await counter('stored')) >= readings && !gw.gateway.ingest.spool.spooling,
      { timeoutMs: 15_000, intervalMs: 100, what: `${readings} readings stored` });
  }

  it('spools the readings while the statements fail, and stores each once after', { timeout: 60_000 }, async () => {
    await publish(1, 3);
    expect(await counter('stored')).toBe(6);

    await restartInfluxd(LIMITED);
    await Promise.all(clients.map((c) => c.endAsync()));
    await gw.close({ keepData: true });
    await startGateway(gw.dataDir);
    await publish(4, 6);
    expect([await counter('stored'), await counter('spooled')]).toEqual([0, 6]);
    await restartInfluxd('');
    await replayed(6);

    expect(disconnected).toEqual([]);
    expect(await metricValue(gw.httpUrl, 'gateway_readings_dropped_total', 'reason="store_rejected"')).toBe(0);
    const [result] = await influxd.query('SELECT "seq" FROM "points" GROUP BY "device"');
    const stored = Object.fromEntries(result.series.map((s: any) => [s.tags.device, s.values.map((v: number[]) => v[1]).sort((a: number, b: number) => a - b)]));
    const all = Array.from({ length: 6 }, (_, i) => i + 1);
    expect(stored).toEqual({ 'stmt-a': all, 'stmt-b': all });
  });
});
