import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../../broker/provision.js';
import { parseCredentials } from '../../devices/options.js';
import { connectClient, publishReading, metricValue, waitFor } from '../helpers/clients.js';
import { makeTempDir, startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

function io() {
  const lines: string[] = [];
  return { lines, io: { out: (l: string) => lines.push(l), err: (l: string) => lines.push(`ERR ${l}`), fetch } };
}

describe('npm run provision', () => {
  it('registers devices and writes a credentials file the simulator reads and the gateway accepts', async () => {
    gw = await startTestGateway({ AUTH: 'on', ADMIN_TOKEN: 'admin' });
    const out = path.join(makeTempDir(), 'creds.json');
    const { lines, io: cliIo } = io();
    expect(await run(['--url', gw.httpUrl, '--count', '3', '--id-prefix', 'prov', '--out', out, '--admin-token', 'admin'], cliIo)).toBe(0);
    expect(lines.join('\n')).toMatch(/provisioned 3 devices/);
    expect(fs.statSync(out).mode & 0o777).toBe(0o600);

    const parsed = parseCredentials(fs.readFileSync(out, 'utf8'));
    expect(parsed.ok && [...parsed.secrets.keys()]).toEqual(['prov-0001', 'prov-0002', 'prov-0003']);
    const secret = parsed.ok ? parsed.secrets.get('prov-0002')! : '';
    const device = await connectClient(gw.mqttUrl, { clientId: 'prov-0002', username: 'prov-0002', password: secret });
    await publishReading(device, 'prov-0002', 1);
    await device.endAsync();
    await waitFor(async () => (await metricValue(gw!.httpUrl, 'gateway_readings_stored_total')) === 1);

    // Again: the devices exist, so it fails unless asked to rotate; rotation invalidates the old secrets.
    expect(await run(['--url', gw.httpUrl, '--count', '3', '--id-prefix', 'prov', '--out', out, '--admin-token', 'admin'], io().io)).toBe(1);
    const rotated = io();
    expect(await run(['--url', gw.httpUrl, '--count', '3', '--id-prefix', 'prov', '--out', out, '--admin-token', 'admin', '--rotate'], rotated.io), rotated.lines.join('\n')).toBe(0);
    await expect(connectClient(gw.mqttUrl, { clientId: 'prov-0002', username: 'prov-0002', password: secret })).rejects.toMatchObject({ code: 4 });
  });

  it('explains bad flags with exit code 2 and a wrong admin token with exit code 1', async () => {
    gw = await startTestGateway({ AUTH: 'on', ADMIN_TOKEN: 'admin' });
    const bad = io();
    expect(await run(['--count', 'many'], bad.io)).toBe(2);
    expect(bad.lines.join('\n')).toMatch(/--count must be an integer/);
    const denied = io();
    expect(await run(['--url', gw.httpUrl, '--out', path.join(makeTempDir(), 'c.json'), '--admin-token', 'wrong'], denied.io)).toBe(1);
    expect(denied.lines.join('\n')).toMatch(/401 unauthorized/);
  });
});
