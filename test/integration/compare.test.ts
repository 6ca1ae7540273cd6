// `npm run compare` for a few seconds against a gateway it starts itself, and
// the lab's byte model checked against what the gateway actually sends.
import { readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { SSE_HANDSHAKE_BYTES, sseEventBytes, WS_HANDSHAKE_BYTES } from '../../dashboard/bytes.js';
import { run, type CompareReport } from '../../lab/compare.js';
import { nodeWebSocket } from '../../lab/node-io.js';
import { connectClient, publishReading, waitFor } from '../helpers/clients.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway | undefined;
let device: MqttClient | undefined;
afterEach(async () => {
  await device?.endAsync(true);
  await gw?.close();
  device = gw = undefined;
});

/** Sends a raw HTTP request and collects what comes back until `done` says enough. */
function raw(httpUrl: string, request: string, done: (received: Buffer) => boolean): Promise<Buffer> {
  const { hostname, port } = new URL(httpUrl);
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const socket = net.connect(Number(port), hostname, () => socket.write(request));
    const timer = setTimeout(() => finish(new Error(`no complete answer: ${JSON.stringify(received.toString('latin1'))}`)), 5000);
    function finish(err?: Error) {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(received);
    }
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (done(received)) finish();
    });
    socket.on('error', finish);
  });
}

describe('npm run compare', () => {
  it('drives one device stream to every method and each client gets every reading exactly once', async () => {
    const jsonPath = path.join(os.tmpdir(), `compare-${process.pid}-${Date.now()}.json`);
    let stdout = '';
    let stderr = '';
    const code = await run(
      ['--duration', '1.5', '--devices', '2', '--rate', '5', '--clients', '2', '--poll', '0.5', '--json', jsonPath],
      { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) },
    );
    const report = JSON.parse(await readFile(jsonPath, 'utf8')) as CompareReport;
    await rm(jsonPath, { force: true });
    expect(code, stderr).toBe(0);

    expect(report.gateway.started).toBe(true);
    expect(report.publishErrors).toBe(0);
    expect(report.baseline.cpuSeconds).toBeGreaterThan(0);
    const byId = Object.fromEntries(report.methods.map((m) => [m.method, m]));
    expect(Object.keys(byId)).toEqual(['short-poll', 'long-poll', 'sse', 'mqtt-ws']);
    for (const m of report.methods) {
      expect(m.updates, m.method).toBeGreaterThan(5);
      expect(m.delivery.expected, m.method).toBeGreaterThan(5);
      expect(m.delivery, m.method).toMatchObject({ missing: 0, duplicates: 0 });
      expect(m.delayMs.p50, m.method).toBeGreaterThanOrEqual(0);
      expect(m.delayMs.p95!, m.method).toBeGreaterThanOrEqual(m.delayMs.p50!);
      expect(m.bytesPerUpdate, m.method).toBeGreaterThan(30);
      expect(Number.isFinite(m.cpuMsPer1000Updates), m.method).toBe(true);
    }
    // A poll every 0.5 s is two requests a second per client; the pushes hold one connection and ask nothing more.
    expect(byId['short-poll']!.requestsPerSecondPerClient).toBeGreaterThan(1.5);
    expect(byId['short-poll']!.requestsPerSecondPerClient).toBeLessThan(2.5);
    expect(byId['sse']!.requestsPerSecondPerClient).toBe(0);
    expect(byId['mqtt-ws']!.requestsPerSecondPerClient).toBe(0);
    // The live path skips the store's batching; a poll waits for its next turn on top.
    expect(byId['mqtt-ws']!.delayMs.p50!).toBeLessThan(byId['sse']!.delayMs.p50!);
    expect(byId['sse']!.delayMs.p50!).toBeLessThan(byId['short-poll']!.delayMs.p50!);
    expect(byId['short-poll']!.emptyShare).not.toBeNull();
    expect(byId['sse']!.emptyShare).toBeNull();

    const rows = stdout.split('\n').filter((line) => line.startsWith('| '));
    expect(rows.filter((line) => /^\| (Short polling|Long polling|Server-Sent Events|MQTT over WebSocket) \|/.test(line))).toHaveLength(8);
    expect(stdout.match(/, 0 lost, 0 dup \|$/gm)).toHaveLength(4);
  }, 60_000);
});

describe('the byte model against the wire', () => {
  it('matches the gateway\'s SSE handshake and event chunks, and its WebSocket handshake', async () => {
    gw = await startTestGateway();
    device = await connectClient(gw.mqttUrl, { clientId: 'bytes-1' });
    await publishReading(device, 'bytes-1', 1);
    await waitFor(async () => (await fetch(`${gw!.httpUrl}/api/devices/bytes-1/series?metric=temperature`)).ok);

    const sse = raw(gw.httpUrl, 'GET /api/devices/bytes-1/stream?metric=temperature HTTP/1.1\r\nHost: x\r\n\r\n',
      (r) => /data: .*\n\n\r\n$/.test(r.toString('latin1')));
    // The stream is open once its head has gone out; the next reading becomes its first event.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await publishReading(device, 'bytes-1', 2);
    const text = (await sse).toString('latin1');
    const headEnd = text.indexOf('\r\n\r\n') + 4;
    const retryChunk = 'd\r\nretry: 1000\n\n\r\n';
    expect(text.slice(headEnd, headEnd + retryChunk.length)).toBe(retryChunk);
    // Within a few bytes: header values such as Keep-Alive's timeout may change without breaking the model.
    expect(Math.abs(headEnd + retryChunk.length - SSE_HANDSHAKE_BYTES)).toBeLessThanOrEqual(16);
    const eventChunk = text.slice(headEnd + retryChunk.length);
    const event = /^[0-9a-f]+\r\nid: (\S+)\ndata: (\S+)\n\n\r\n$/.exec(eventChunk)!;
    expect(event).not.toBeNull();
    expect(sseEventBytes(event[1]!, event[2]!)).toBe(Buffer.byteLength(eventChunk));

    const upgrade = (await raw(gw.httpUrl, [
      'GET /mqtt HTTP/1.1', 'Host: x', 'Upgrade: websocket', 'Connection: Upgrade',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Protocol: mqtt', '', '',
    ].join('\r\n'), (r) => r.includes('\r\n\r\n'))).toString('latin1');
    const upgradeHead = upgrade.slice(0, upgrade.indexOf('\r\n\r\n') + 4);
    expect(upgradeHead).toMatch(/^HTTP\/1\.1 101 /);
    expect(Math.abs(upgradeHead.length - WS_HANDSHAKE_BYTES)).toBeLessThanOrEqual(16);

    // And the lab's Node WebSocket reads the same head from the upgrade response.
    const handshakes: number[] = [];
    const ws = nodeWebSocket(gw.wsUrl, ['mqtt'], { handshake: (n) => handshakes.push(n), frame: () => undefined }) as import('ws').WebSocket;
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.close();
    expect(handshakes).toEqual([upgradeHead.length]);
  });
});
