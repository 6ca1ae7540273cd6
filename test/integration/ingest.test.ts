import Database from 'better-sqlite3';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { rejectionTopic, telemetryTopic } from '../../broker/contract/topics.js';
import { collect, connectClient, getJson, metricValue, publishReading, reading, waitFor } from '../helpers/clients.js';
import { makeTempDir, startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

async function seriesSeqs(httpUrl: string, device: string, metric = 'temperature'): Promise<number[]> {
  const { status, body } = await getJson(`${httpUrl}/api/devices/${device}/series?metric=${metric}&after=0&limit=10000`);
  return status === 200 ? body.points.map((p: number[]) => p[2]) : [];
}

describe('ingest', () => {
  it('stores a reading published over TCP and serves it from /series', async () => {
    gw = await startTestGateway();
    const device = await connectClient(gw.mqttUrl, { clientId: 'thermo-1' });
    const ts = Date.now() - 1_000;
    await device.publishAsync(telemetryTopic('thermo-1'), JSON.stringify({ ts, seq: 7, metrics: { temperature: 21.5, humidity: 40 } }), { qos: 1 });
    await device.endAsync();

    const page = await waitFor(async () => {
      const { body } = await getJson(`${gw!.httpUrl}/api/devices/thermo-1/series?metric=temperature`);
      return body.points?.length ? body : null;
    }, { what: 'stored point' });
    const [pointTs, value, seq, receivedAt, storedAt] = page.points[0];
    expect([pointTs, value, seq]).toEqual([ts, 21.5, 7]);
    expect(receivedAt).toBeGreaterThanOrEqual(ts);
    expect(storedAt).toBeGreaterThanOrEqual(receivedAt);

    const { body: list } = await getJson(`${gw.httpUrl}/api/devices`);
    expect(list.devices).toEqual([expect.objectContaining({ id: 'thermo-1', metrics: ['humidity', 'temperature'], online: false })]);
  });

  it('rejects each malformed payload class with a reason, counts it, stores nothing, and keeps other devices flowing', async () => {
    gw = await startTestGateway();
    const bad = await connectClient(gw.mqttUrl, { clientId: 'bad-1' });
    const good = await connectClient(gw.mqttUrl, { clientId: 'good-1' });
    const notices = collect(bad);
    await bad.subscribeAsync(rejectionTopic('bad-1'));
    const topic = telemetryTopic('bad-1');
    const cases: Array<[reason: string, topic: string, payload: string]> = [
      ['bad_json', topic, '{"ts": 1,'],
      ['bad_ts', topic, JSON.stringify({ ts: Date.now() + 3_600_000, metrics: { t: 1 } })],
      ['bad_seq', topic, JSON.stringify({ seq: -1, metrics: { t: 1 } })],
      ['no_metrics', topic, JSON.stringify({ ts: Date.now(), temperature: 1 })],
      ['bad_metric_name', topic, JSON.stringify({ metrics: { 'tem perature': 1 } })],
      ['bad_metric_value', topic, JSON.stringify({ metrics: { t: 'hot' } })],
      ['too_large', topic, JSON.stringify({ metrics: { t: 1 }, pad: 'x'.repeat(20_000) })],
      ['foreign_topic', telemetryTopic('good-1'), reading(1)],
    ];
    let seq = 0;
    for (const [, caseTopic, payload] of cases) {
      await bad.publishAsync(caseTopic, payload, { qos: 1 });
      await publishReading(good, 'good-1', ++seq);
    }

    await waitFor(() => notices.length === cases.length, { what: 'rejection notices' });
    expect(notices.map((m) => JSON.parse(m.payload.toString()).reason)).toEqual(cases.map(([reason]) => reason));
    for (const [reason] of cases) {
      expect(await metricValue(gw.httpUrl, 'gateway_readings_rejected_total', `reason="${reason}"`)).toBe(1);
    }
    expect(bad.connected).toBe(true);
    await waitFor(async () => (await seriesSeqs(gw!.httpUrl, 'good-1')).length === cases.length, { what: 'good readings' });
    expect(await seriesSeqs(gw.httpUrl, 'good-1')).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect((await getJson(`${gw.httpUrl}/api/devices/bad-1/series?metric=t`)).status).toBe(404);
    await Promise.all([bad.endAsync(), good.endAsync()]);
  });

  it('keeps all 1,000 acknowledged QoS 1 readings across a clean shutdown', async () => {
    const dataDir = makeTempDir();
    gw = await startTestGateway({ DATA_DIR: dataDir });
    const device = await connectClient(gw.mqttUrl, { clientId: 'burst-1' });
    await Promise.all(Array.from({ length: 1000 }, (_, i) => publishReading(device, 'burst-1', i + 1, 1)));
    await device.endAsync();
    await gw.close({ keepData: true });

    const db = new Database(path.join(dataDir, 'telemetry.db'), { readonly: true });
    const row = db.prepare('SELECT count(*) AS n, count(DISTINCT seq) AS distinctSeq, min(seq) AS lo, max(seq) AS hi FROM readings').get();
    db.close();
    expect(row).toEqual({ n: 1000, distinctSeq: 1000, lo: 1, hi: 1000 });

    gw = await startTestGateway({ DATA_DIR: dataDir });
    expect(await seriesSeqs(gw.httpUrl, 'burst-1')).toHaveLength(1000);
  });

  it('writes accepted readings whose PUBACK is still pending when the gateway shuts down', async () => {
    const dataDir = makeTempDir();
    // No batch is written before close(): the acknowledgements are held, and close() must still write the queue.
    gw = await startTestGateway({ DATA_DIR: dataDir, INGEST_FLUSH_MS: '60000', INGEST_BATCH_SIZE: '100000' });
    const device = await connectClient(gw.mqttUrl, { clientId: 'burst-2', reconnectPeriod: 0 });
    device.on('error', () => {});
    for (let i = 1; i <= 20; i++) void publishReading(device, 'burst-2', i, 1).catch(() => {});
    await waitFor(async () => (await metricValue(gw!.httpUrl, 'gateway_readings_accepted_total')) === 20, { what: '20 accepted' });
    expect(await metricValue(gw.httpUrl, 'gateway_readings_stored_total')).toBe(0);
    await gw.close({ keepData: true });
    device.end(true);

    gw = await startTestGateway({ DATA_DIR: dataDir });
    expect(await seriesSeqs(gw.httpUrl, 'burst-2')).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });
});
