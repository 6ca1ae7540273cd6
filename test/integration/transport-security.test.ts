import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { WebSocket } from 'ws';
import { connectClient, metricValue, publishReading, waitFor } from '../helpers/clients.js';
import { makeTempDir, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { requireTool } from '../helpers/tools.js';

const hasOpenssl = requireTool('openssl', 'openssl');

let gw: TestGateway | undefined;
const clients: MqttClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await gw?.close();
  gw = undefined;
});

/** A self-signed certificate for 127.0.0.1, made for this test run. */
function selfSigned(): { cert: string; key: string; ca: Buffer } {
  const dir = makeTempDir('gw-tls-');
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key, ca: fs.readFileSync(cert) };
}

function httpsGet(url: string, ca: Buffer): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    https.get(url, { ca }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
    }).on('error', reject);
  });
}

describe.skipIf(!hasOpenssl)('TLS', () => {
  it('serves MQTT over TLS, HTTPS and WSS with the configured certificate', async () => {
    const { cert, key, ca } = selfSigned();
    gw = await startTestGateway({ TLS_CERT: cert, TLS_KEY: key, MQTTS_PORT: '0' });
    const { mqtts, http, ws } = gw.gateway.addresses;
    expect(mqtts).toMatch(/^mqtts:\/\//);
    expect(http).toMatch(/^https:\/\//);
    expect(ws).toMatch(/^wss:\/\//);

    const device = await connectClient(mqtts!, { clientId: 'tls-dev', ca, rejectUnauthorized: true });
    clients.push(device);
    const browser = await connectClient(ws, { clientId: 'tls-ws', ca, rejectUnauthorized: true } as never);
    clients.push(browser);
    const live = new Promise<string>((resolve) => browser.once('message', (topic) => resolve(topic)));
    await browser.subscribeAsync('devices/+/telemetry');
    await publishReading(device, 'tls-dev', 1);
    expect(await live).toBe('devices/tls-dev/telemetry');
    expect((await httpsGet(`${http}/healthz`, ca)).status).toBe(200);

    // A client that does not trust the certificate is refused by its own TLS check.
    await expect(connectClient(mqtts!, { clientId: 'untrusting', rejectUnauthorized: true })).rejects.toThrow(/self.signed|certificate/i);
  });

  it('refuses start-up with only one of TLS_CERT and TLS_KEY', async () => {
    const { cert } = selfSigned();
    await expect(startTestGateway({ TLS_CERT: cert })).rejects.toThrow(/TLS_CERT and TLS_KEY/);
  });
});

describe('HTTP and WebSocket hardening', () => {
  it('refuses WebSocket upgrades from foreign origins unless allowed', async () => {
    gw = await startTestGateway({ ALLOWED_ORIGINS: 'https://ops.example.com' });
    const statusFor = (origin?: string) => new Promise<number>((resolve) => {
      const ws = new WebSocket(gw!.wsUrl, 'mqtt', origin ? { origin } : {});
      ws.once('open', () => {
        ws.terminate();
        resolve(101);
      });
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    });
    const own = new URL(gw.httpUrl).origin;
    expect(await statusFor(own)).toBe(101);
    expect(await statusFor()).toBe(101);
    expect(await statusFor('https://ops.example.com')).toBe(101);
    expect(await statusFor('https://evil.example.com')).toBe(403);
    expect(await statusFor('null')).toBe(403);
  });

  it('sends security headers and no CORS headers, and rate-limits the API per address with 429', async () => {
    gw = await startTestGateway({ HTTP_RATE: '1' });
    const page = await fetch(`${gw.httpUrl}/`, { headers: { origin: 'https://evil.example.com' } });
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(page.headers.get('access-control-allow-origin')).toBeNull();
    // JSON answers carry only what matters to them: every poll pays for its headers.
    const json = await fetch(`${gw.httpUrl}/healthz`, { headers: { origin: 'https://evil.example.com' } });
    expect(json.headers.get('x-content-type-options')).toBe('nosniff');
    expect(json.headers.get('content-security-policy')).toBeNull();
    expect(json.headers.get('access-control-allow-origin')).toBeNull();

    const statuses = [];
    for (let i = 0; i < 15; i++) statuses.push((await fetch(`${gw.httpUrl}/api/devices`)).status);
    expect(statuses[0]).toBe(200);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    const limited = await fetch(`${gw.httpUrl}/api/devices`);
    expect([limited.status, limited.headers.get('retry-after')]).toEqual([429, '1']);
    expect(await metricValue(gw.httpUrl, 'gateway_http_rate_limited_total')).toBeGreaterThan(0);
    // Health and metrics stay reachable for probes.
    expect((await fetch(`${gw.httpUrl}/healthz`)).status).toBe(200);
    await waitFor(async () => (await fetch(`${gw!.httpUrl}/api/devices`)).status === 200, { timeoutMs: 3_000, what: 'bucket refill' });
  });
});
