import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { connectClient, getJson, waitFor } from '../helpers/clients.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;
const T0 = Date.now() - 60_000;

beforeAll(async () => {
  gw = await startTestGateway();
  const device = await connectClient(gw.mqttUrl, { clientId: 'api-1' });
  for (let i = 0; i < 60; i++) {
    await device.publishAsync('devices/api-1/telemetry', JSON.stringify({ ts: T0 + i * 1000, seq: i, metrics: { t: i, h: 100 - i } }), { qos: 1 });
  }
  await device.endAsync();
  await waitFor(async () => (await getJson(`${gw.httpUrl}/api/devices/api-1/series?metric=t&after=0`)).body.points?.length === 60, { what: 'stored series' });
});
afterAll(() => gw.close());

describe('HTTP API', () => {
  it('pages through a series with the cursor, without gap or duplicate', async () => {
    const seen: number[] = [];
    let cursor = '0';
    for (;;) {
      const { status, body } = await getJson(`${gw.httpUrl}/api/devices/api-1/series?metric=t&after=${cursor}&limit=7`);
      expect(status).toBe(200);
      if (body.points.length === 0) {
        expect(body.cursor).toBe(cursor);
        break;
      }
      seen.push(...body.points.map((p: number[]) => p[1]));
      cursor = body.cursor;
    }
    expect(seen).toEqual(Array.from({ length: 60 }, (_, i) => i));
  });

  it('without a cursor, answers the newest points in order', async () => {
    const { body } = await getJson(`${gw.httpUrl}/api/devices/api-1/series?metric=t&limit=3`);
    expect(body.points.map((p: number[]) => p[1])).toEqual([57, 58, 59]);
    const next = await getJson(`${gw.httpUrl}/api/devices/api-1/series?metric=t&after=${body.cursor}`);
    expect(next.body.points).toEqual([]);
  });

  it('downsamples history to the step', async () => {
    const { status, body } = await getJson(`${gw.httpUrl}/api/devices/api-1/history?metric=t&from=${T0}&to=${T0 + 60_000}&step=10000`);
    expect(status).toBe(200);
    // One bucket per 10 s step that holds a reading: 6 or 7, as T0 falls in its step.
    const steps = new Set(Array.from({ length: 60 }, (_, i) => Math.floor((T0 + i * 1000) / 10_000)));
    expect(body.points).toHaveLength(steps.size);
    expect(body.points.reduce((n: number, b: number[]) => n + b[4]!, 0)).toBe(60);
    for (const [t, avg, min, max] of body.points) {
      expect(t! % 10_000).toBe(0);
      expect(min).toBeLessThanOrEqual(avg!);
      expect(avg).toBeLessThanOrEqual(max!);
    }
  });

  it('lists the device with its metrics', async () => {
    const { body } = await getJson(`${gw.httpUrl}/api/devices`);
    expect(body.devices).toEqual([expect.objectContaining({ id: 'api-1', metrics: ['h', 't'], online: false })]);
    expect(body.devices[0].lastSeen).toBeGreaterThan(T0);
  });

  it.each([
    ['/api/devices/api-1/series', 400, 'bad_query'],
    ['/api/devices/api-1/series?metric=t&limit=0', 400, 'bad_query'],
    ['/api/devices/api-1/series?metric=t&limit=abc', 400, 'bad_query'],
    ['/api/devices/api-1/series?metric=t&after=-1', 400, 'bad_cursor'],
    ['/api/devices/api-1/series?metric=t&after=1%27%20OR%201=1', 400, 'bad_cursor'],
    ['/api/devices/api-1/series?metric=t&metrics=t', 400, 'bad_query'],
    ['/api/devices/api-1/series?metric=bad%20name', 400, 'bad_query'],
    ['/api/devices/..%2Fetc/series?metric=t', 400, 'bad_query'],
    ['/api/devices/nobody/series?metric=t', 404, 'unknown_device'],
    ['/api/devices/api-1/series?metric=nope', 404, 'unknown_metric'],
    ['/api/devices/api-1/history?metric=t&from=10&to=5', 400, 'bad_range'],
    ['/api/devices/api-1/history?metric=t&from=0&to=100000000&step=1', 400, 'too_many_buckets'],
    ['/api/devices/nobody/history?metric=t', 404, 'unknown_device'],
    ['/api/nothing-here', 404, 'not_found'],
  ])('GET %s -> %i %s', async (path, status, code) => {
    const response = await getJson(`${gw.httpUrl}${path}`);
    expect(response.status).toBe(status);
    expect(response.body.error.code).toBe(code);
    expect(response.body.error.message).toEqual(expect.any(String));
  });

  it('answers health, readiness and Prometheus metrics', async () => {
    expect(await getJson(`${gw.httpUrl}/healthz`)).toEqual({ status: 200, body: { status: 'ok' } });
    expect((await getJson(`${gw.httpUrl}/readyz`)).body).toMatchObject({ status: 'ready', store: 'sqlite' });
    const metrics = await (await fetch(`${gw.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/^gateway_readings_stored_total 60$/m);
    expect(metrics).toMatch(/^gateway_readings_rejected_total\{reason="bad_json"\} 0$/m);
  });

  it('counts HTTP requests by route pattern and status, and exposes event-loop delay', async () => {
    const scrape = async () => (await fetch(`${gw.httpUrl}/metrics`)).text();
    const count = (text: string, labels: string) =>
      Number(new RegExp(`^gateway_http_requests_total\\{${labels}\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    const series = (status: number) => `method="GET",route="/api/devices/:id/series",status="${status}"`;
    const unmatched = 'method="GET",route="unmatched",status="404"';
    const before = await scrape();
    await getJson(`${gw.httpUrl}/api/devices/api-1/series?metric=t&limit=1`);
    await getJson(`${gw.httpUrl}/api/devices/api-1/series?metric=nope`);
    await getJson(`${gw.httpUrl}/no/such/path`);
    const after = await scrape();
    expect(count(after, series(200)) - count(before, series(200))).toBe(1);
    expect(count(after, series(404)) - count(before, series(404))).toBe(1);
    expect(count(after, unmatched) - count(before, unmatched)).toBe(1);
    expect(after).toMatch(/^gateway_http_request_duration_seconds_count\{method="GET",route="\/api\/devices\/:id\/series"\} \d+$/m);
    expect(after).toMatch(/^gateway_nodejs_eventloop_lag_p99_seconds \d/m);
  });

  it('serves the dashboard at /', async () => {
    const response = await fetch(`${gw.httpUrl}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
    expect(await response.text()).toMatch(/<script[^>]+main\.js/);
  });

  it('refuses WebSocket upgrades outside /mqtt', async () => {
    const ws = new WebSocket(`${gw.wsUrl.replace('/mqtt', '/not-mqtt')}`, 'mqtt');
    const status = await new Promise((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode)));
    expect(status).toBe(404);
  });
});
