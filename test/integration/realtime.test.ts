import { afterEach, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connectClient, getJson, publishReading, waitFor } from '../helpers/clients.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { openSse, type SseConnection } from '../helpers/sse.js';

let gw: TestGateway | undefined;
let device: MqttClient | undefined;
const streams: SseConnection[] = [];
afterEach(async () => {
  streams.splice(0).forEach((s) => s.close());
  await device?.endAsync(true);
  device = undefined;
  await gw?.close();
  gw = undefined;
});

/** A gateway with one device that has stored `initial` readings; returns the series cursor after them. */
async function setup(env: Record<string, string> = {}, initial = 1) {
  gw = await startTestGateway(env);
  device = await connectClient(gw.mqttUrl, { clientId: 'rt-1' });
  for (let seq = 1; seq <= initial; seq++) await publishReading(device, 'rt-1', seq);
  const base = `${gw.httpUrl}/api/devices/rt-1`;
  const page = await waitFor(async () => {
    const { body } = await getJson(`${base}/series?metric=temperature&after=0`);
    return body.points?.length === initial ? body : null;
  }, { what: 'initial readings' });
  return { base, cursor: page.cursor as string };
}

const seqOf = (data: string) => (JSON.parse(data) as number[])[2];

describe('long polling', () => {
  it('answers as soon as a point is stored, well before the wait ends', async () => {
    const { base, cursor } = await setup();
    const started = Date.now();
    const pending = getJson(`${base}/series?metric=temperature&after=${cursor}&wait=20`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await publishReading(device!, 'rt-1', 2);
    const { status, body } = await pending;
    expect(status).toBe(200);
    expect(body.points.map((p: number[]) => p[2])).toEqual([2]);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('answers empty with the same cursor when the wait ends without a new point', async () => {
    const { base, cursor } = await setup();
    const started = Date.now();
    const { status, body } = await getJson(`${base}/series?metric=temperature&after=${cursor}&wait=1`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ points: [], cursor });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('refuses waits over 60 s and answers 503 with Retry-After past the open limit', async () => {
    const { base, cursor } = await setup({ MAX_LONG_POLLS: '1' });
    expect((await getJson(`${base}/series?metric=temperature&after=${cursor}&wait=61`)).body.error.code).toBe('bad_query');
    const held = fetch(`${base}/series?metric=temperature&after=${cursor}&wait=5`);
    await waitFor(async () => (await fetch(`${gw!.httpUrl}/metrics`).then((r) => r.text())).includes('gateway_http_long_polls_open 1'));
    const refused = await fetch(`${base}/series?metric=temperature&after=${cursor}&wait=5`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("over_capacity");
    await publishReading(device!, 'rt-1', 2);
    expect((await held).status).toBe(200);
  });
});

describe('Server-Sent Events', () => {
  it('pushes one event per stored point with the cursor as id, and resumes with Last-Event-ID without gap or repeat', async () => {
    const { base, cursor } = await setup({}, 2);
    const first = await openSse(`${base}/stream?metric=temperature&after=${cursor}`);
    streams.push(first);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toMatch(/^text\/event-stream/);
    for (let seq = 3; seq <= 5; seq++) await publishReading(device!, 'rt-1', seq);
    await waitFor(() => first.events.length === 3, { what: 'three events' });
    first.close();

    // Published while no stream is open: the resume must deliver them.
    for (let seq = 6; seq <= 8; seq++) await publishReading(device!, 'rt-1', seq);
    await waitFor(async () => (await getJson(`${base}/series?metric=temperature&after=0`)).body.points.length === 8);
    const resumed = await openSse(`${base}/stream?metric=temperature`, { 'last-event-id': first.events.at(-1)!.id! });
    streams.push(resumed);
    for (let seq = 9; seq <= 10; seq++) await publishReading(device!, 'rt-1', seq);
    await waitFor(() => resumed.events.length === 5, { what: 'resumed events' });

    const seqs = [...first.events, ...resumed.events].map((e) => seqOf(e.data));
    expect(seqs).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
    const ids = [...first.events, ...resumed.events].map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('starts at the newest point without a cursor and sends heartbeats', async () => {
    const { base } = await setup({ SSE_HEARTBEAT_MS: '100' }, 3);
    const stream = await openSse(`${base}/stream?metric=temperature`);
    streams.push(stream);
    await waitFor(() => stream.comments.includes('heartbeat'), { what: 'heartbeat' });
    await publishReading(device!, 'rt-1', 4);
    await waitFor(() => stream.events.length === 1, { what: 'event' });
    expect(seqOf(stream.events[0]!.data)).toBe(4);
  });

  it('answers 404 for an unknown series, 400 for a bad Last-Event-ID, and 503 past the stream limit', async () => {
    const { base } = await setup({ MAX_SSE_STREAMS: '1' });
    expect((await openSse(`${base}/stream?metric=nope`)).status).toBe(404);
    expect((await openSse(`${base}/stream?metric=temperature`, { 'last-event-id': 'x; DROP TABLE' })).status).toBe(400);
    const open = await openSse(`${base}/stream?metric=temperature`);
    streams.push(open);
    const refused = await fetch(`${base}/stream?metric=temperature`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
  });

  it('ends open streams and long polls promptly when the gateway closes', async () => {
    const { base, cursor } = await setup();
    const stream = await openSse(`${base}/stream?metric=temperature`);
    streams.push(stream);
    const poll = fetch(`${base}/series?metric=temperature&after=${cursor}&wait=60`).then((r) => r.status);
    await waitFor(async () => (await fetch(`${gw!.httpUrl}/metrics`).then((r) => r.text())).includes('gateway_http_long_polls_open 1'));
    const started = Date.now();
    await device!.endAsync();
    device = undefined;
    await gw!.close();
    gw = undefined;
    await stream.ended;
    expect(await poll).toBe(200);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
