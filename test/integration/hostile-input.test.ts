import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { rejectionTopic, telemetryTopic } from '../../broker/contract/topics.js';
import { collect, connectClient, getJson, metricTotal, metricValue, waitFor } from '../helpers/clients.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;
let device: MqttClient;
beforeAll(async () => {
  gw = await startTestGateway();
  device = await connectClient(gw.mqttUrl, { clientId: 'victim' });
  await device.publishAsync(telemetryTopic('victim'), JSON.stringify({ seq: 1, metrics: { t: 1 } }), { qos: 1 });
  await waitFor(async () => (await metricValue(gw.httpUrl, 'gateway_readings_stored_total')) === 1);
});
afterAll(async () => {
  await device.endAsync();
  await gw.close();
});

const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);

describe('hostile telemetry', () => {
  it.each([
    ['bad_metric_value', '{"metrics":{"t":1e309}}'],
    ['bad_ts', '{"ts":1e20,"metrics":{"t":1}}'],
    ['bad_ts', '{"ts":-1,"metrics":{"t":1}}'],
    ['bad_seq', `{"seq":${2 ** 60},"metrics":{"t":1}}`],
    ['bad_json', deep(5_000)],
    ['bad_json', '{"metrics":{"t":1}'],
    ['bad_json', '\u0000\u0001\u0002'],
    ['bad_metric_name', `{"metrics":{"t'; DROP TABLE points;--":1}}`],
    ['bad_metric_name', '{"metrics":{"tempé":1}}'],
    ['bad_metric_name', '{"metrics":{"../../etc/passwd":1}}'],
    ['bad_metric_name', '{"metrics":{"a\\u0000b":1}}'],
    ['too_large', JSON.stringify({ metrics: { t: 1 }, junk: 'x'.repeat(17_000) })],
    ['no_metrics', '{"metrics":null}'],
    ['no_metrics', '{"__proto__":{"metrics":{"t":1}}}'],
  ])('answers %s to hostile payload #%#', async (reason, payload) => {
    const notices = collect(device);
    await device.subscribeAsync(rejectionTopic('victim'));
    await device.publishAsync(telemetryTopic('victim'), payload, { qos: 1 });
    const notice = (await waitFor(() => notices.find((m) => m.topic === rejectionTopic('victim')), { what: 'rejection notice' }))!;
    expect(JSON.parse(notice.payload.toString())).toMatchObject({ reason, message: expect.any(String) });
    await device.unsubscribeAsync(rejectionTopic('victim'));
  });

  it('stores nothing from them and keeps the good series intact', async () => {
    const { body } = await getJson(`${gw.httpUrl}/api/devices/victim/series?metric=t&after=0`);
    expect(body.points.map((p: number[]) => [p[1], p[2]])).toEqual([[1, 1]]);
    expect((await getJson(`${gw.httpUrl}/api/devices`)).body.devices.map((d: { id: string; metrics: string[] }) => [d.id, d.metrics])).toEqual([['victim', ['t']]]);
    expect(await metricTotal(gw.httpUrl, 'gateway_readings_rejected_total')).toBe(14);
  });

  it('never treats a topic with a hostile device id as telemetry', async () => {
    for (const id of ["x'; DROP TABLE devices;--", '..', 'dév', 'a'.repeat(65), '', ' ']) {
      device.publish(`devices/${id}/telemetry`, JSON.stringify({ metrics: { t: 666 } }));
    }
    await device.publishAsync(telemetryTopic('victim'), JSON.stringify({ seq: 2, metrics: { t: 2 } }), { qos: 1 });
    await waitFor(async () => (await metricValue(gw.httpUrl, 'gateway_readings_stored_total')) === 2);
    expect((await getJson(`${gw.httpUrl}/api/devices`)).body.devices).toHaveLength(1);
  });

  it('closes only the connection that publishes to a wildcard topic [MQTT-3.3.2-2]', async () => {
    for (const topic of ['devices/+/telemetry', 'devices/#']) {
      const rogue = await connectClient(gw.mqttUrl, { clientId: 'rogue' });
      const closed = new Promise<void>((resolve) => rogue.once('close', () => resolve()));
      rogue.publish(topic, JSON.stringify({ metrics: { t: 666 } }));
      await closed;
    }
    expect(device.connected).toBe(true);
  });
});

describe('hostile HTTP parameters', () => {
  it.each([
    ["/api/devices/victim/series?metric=t'%20OR%20'1'='1", 400],
    ['/api/devices/victim/series?metric=t&after=1e309', 400],
    ['/api/devices/victim/series?metric=t&after=99999999999999999999999', 400],
    ['/api/devices/victim/series?metric=t&limit=99999999999999999999', 400],
    ['/api/devices/victim/series?metric=t&limit=-5', 400],
    ['/api/devices/victim/series?metric=t&wait=1e9', 400],
    ['/api/devices/..%2F..%2Fetc%2Fpasswd/series?metric=t', 400],
    // The router resolves the dots first: /api/series exists nowhere.
    ['/api/devices/%2e%2e/series?metric=t', 404],
    ['/api/devices/d%C3%A9v/series?metric=t', 400],
    ['/api/devices/victim/series?metric=%00', 400],
    ['/api/devices/victim/history?metric=t&from=-1', 400],
    ['/api/devices/victim/history?metric=t&to=1e400', 400],
    ['/api/devices/victim/history?metric=t&step=0', 400],
    ['/api/devices/victim/stream?metric=t&after=%27', 400],
    [`/api/devices/${'a'.repeat(65)}/series?metric=t`, 400],
    ['/api/devices/victim/series?metric=t&metric=u', 400],
    ['/../../../etc/passwd', 404],
    ['/%2e%2e/%2e%2e/etc/passwd', 404],
  ])('GET %s -> %i with a coded error', async (path, status) => {
    const response = await fetch(`${gw.httpUrl}${path}`);
    expect(response.status).toBe(status);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toMatch(/^[a-z_]+$/);
    expect(body.error.message).not.toMatch(/at .*\.ts:\d+|SQLITE|stack/i);
  });

  it('still serves the good series afterwards', async () => {
    expect((await getJson(`${gw.httpUrl}/api/devices/victim/series?metric=t&after=0`)).body.points).toHaveLength(2);
  });
});
