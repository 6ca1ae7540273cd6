// Nothing valid is lost while InfluxDB is down (issue #5): 100 devices publish
// QoS 1 at 10 readings/s each; influxd is stopped for 20 s and started again;
// every acknowledged reading ends up in InfluxDB exactly once, spooled on the
// way, and readiness says degraded meanwhile.
//
// When it fails, it prints a timeline of its steps, the devices that lost
// their connection, and the gateway's log. A CI run once timed out here with
// nothing to say why; the report found it: a query failing as influxd
// stopped was taken for a refusal (influx-statement-error.test.ts).
import type { MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { connectClient, getJson, metricValue, reading, waitFor, within } from '../helpers/clients.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { influxdAvailable, startInfluxd, type Influxd } from '../helpers/influxd.js';

const hasInfluxd = influxdAvailable();
const DEVICES = 100;
const RATE = 10;
const BEFORE_MS = 3_000;
const OUTAGE_MS = 20_000;
const AFTER_MS = 4_000;

/** What happened when, for the failure report. */
const timeline: string[] = [];
const started = Date.now();
function mark(what: string): void {
  timeline.push(`${String(Date.now() - started).padStart(6)} ms  ${what}`);
}

/** The gateway's last log lines (info and up). */
const gatewayLog: string[] = [];
const logger = pino({ level: 'info' }, {
  write(line: string) {
    gatewayLog.push(line.trimEnd());
    if (gatewayLog.length > 300) gatewayLog.shift();
  },
});

function report(): void {
  console.log(`influx-outage timeline:\n${timeline.join('\n')}\ngateway log (last ${gatewayLog.length} lines):\n${gatewayLog.join('\n')}`);
}

/** One device publishing QoS 1 on a fixed interval; counts what the gateway acknowledged. */
function publisher(client: MqttClient, deviceId: string) {
  let seq = 0;
  let acked = 0;
  const inFlight = new Set<Promise<void>>();
  client.on('close', () => {
    // Closed by the test (end) or lost: only a lost one is a failure to report.
    if (!client.disconnecting) mark(`${deviceId} lost its connection with ${inFlight.size} publishes unacknowledged`);
  });
  const timer = setInterval(() => {
    const n = ++seq;
    // A failed publish is not acknowledged, so the count check below fails on it.
    const sent = client.publishAsync(`devices/${deviceId}/telemetry`, reading(n), { qos: 1 }).then(
      () => {
        acked += 1;
      },
      (err: Error) => mark(`${deviceId} publish ${n} failed: ${err.message}`),
    );
    inFlight.add(sent);
    void sent.finally(() => inFlight.delete(sent));
  }, 1000 / RATE);
  return {
    deviceId,
    get acked() {
      return acked;
    },
    get unacknowledged() {
      return inFlight.size;
    },
    async stop(): Promise<number> {
      clearInterval(timer);
      await Promise.all(inFlight);
      return seq;
    },
  };
}

describe.skipIf(!hasInfluxd)('InfluxDB outage under load', () => {
  let influxd: Influxd;
  let gw: TestGateway;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    influxd = await startInfluxd();
    gw = await startTestGateway({ STORE: 'influxdb', INFLUX_URL: influxd.url, STORE_RETRY_MS: '100', STORE_RETRY_MAX_MS: '2000' }, { logger });
  });
  afterAll(async () => {
    // Forced: a client with an unacknowledged publish would wait for it forever.
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await gw?.close();
    await influxd?.dispose();
  });

  it('stores every acknowledged reading exactly once after a 20 s outage', { timeout: 120_000 }, async () => {
    onTestFailed(report);
    const ids = Array.from({ length: DEVICES }, (_, i) => `outage-${String(i).padStart(3, '0')}`);
    clients.push(...(await Promise.all(ids.map((clientId) => connectClient(gw.mqttUrl, { clientId })))));
    const publishers = ids.map((id, i) => publisher(clients[i]!, id));
    const acknowledged = () => publishers.reduce((sum, p) => sum + p.acked, 0);
    mark(`${DEVICES} devices connected and publishing`);

    await new Promise((resolve) => setTimeout(resolve, BEFORE_MS));
    expect((await getJson(`${gw.httpUrl}/readyz`)).body.status).toBe('ready');
    mark(`stopping influxd; ${acknowledged()} acknowledged`);
    await influxd.stop();
    mark('influxd stopped');
    await waitFor(async () => (await metricValue(gw.httpUrl, 'gateway_spool_readings')) > 1000, { timeoutMs: 10_000, what: 'readings spooled' });
    mark(`spooling; ${acknowledged()} acknowledged`);
    const down = await getJson(`${gw.httpUrl}/readyz`);
    expect([down.status, down.body.status]).toEqual([503, 'degraded']);
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS - 2_000));
    mark(`starting influxd; ${acknowledged()} acknowledged`);
    await influxd.start();
    mark('influxd answers /ping');
    await new Promise((resolve) => setTimeout(resolve, AFTER_MS));

    mark(`stopping the devices; ${acknowledged()} acknowledged`);
    const sent = await within(Promise.all(publishers.map((p) => p.stop())), 20_000, () => {
      const waiting = publishers.filter((p) => p.unacknowledged > 0);
      return `acknowledgements for ${waiting.reduce((sum, p) => sum + p.unacknowledged, 0)} publishes of ${waiting.length} devices (${waiting.slice(0, 5).map((p) => p.deviceId).join(', ')}…)`;
    });
    const published = acknowledged();
    mark(`devices stopped; ${published} acknowledged`);
    expect(published).toBe(sent.reduce((a, b) => a + b, 0));
    await waitFor(async () => (await metricValue(gw.httpUrl, 'gateway_readings_stored_total')) >= published && !gw.gateway.ingest.spool.spooling,
      { timeoutMs: 30_000, intervalMs: 200, what: 'spool replayed' });
    mark('spool replayed');

    const [result] = await influxd.query('SELECT "seq" FROM "points" GROUP BY "device"');
    const stored = new Map<string, number[]>(result.series.map((s: any) => [s.tags.device, s.values.map((v: number[]) => v[1])]));
    const total = [...stored.values()].reduce((sum, seqs) => sum + seqs.length, 0);
    console.log(`outage test: ${published} readings published and acknowledged, ${total} stored in InfluxDB\n${timeline.join('\n')}`);
    for (const p of publishers) {
      const seqs = [...(stored.get(p.deviceId) ?? [])].sort((a, b) => a - b);
      expect(seqs, p.deviceId).toEqual(Array.from({ length: p.acked }, (_, i) => i + 1));
    }
    expect(total).toBe(published);

    const spooled = await metricValue(gw.httpUrl, 'gateway_readings_spooled_total');
    expect(spooled).toBeGreaterThan(RATE * DEVICES * 10);
    expect(await metricValue(gw.httpUrl, 'gateway_readings_replayed_total')).toBe(spooled);
    expect(await metricValue(gw.httpUrl, 'gateway_readings_retried_total')).toBeGreaterThan(0);
    expect(await metricValue(gw.httpUrl, 'gateway_readings_dropped_total', 'reason="spool_full"')).toBe(0);
    expect((await getJson(`${gw.httpUrl}/readyz`)).body).toMatchObject({ status: 'ready', spooledReadings: 0 });

    // And the API serves what was replayed, in storage order, without gap.
    const page = await getJson(`${gw.httpUrl}/api/devices/${ids[0]}/series?metric=temperature&after=0&limit=10000`);
    expect(page.body.points.map((p: number[]) => p[2])).toEqual(Array.from({ length: publishers[0]!.acked }, (_, i) => i + 1));
  });
});
