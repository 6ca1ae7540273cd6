import { afterEach, describe, expect, it } from 'vitest';
import { startFleet, type Fleet } from '../../devices/fleet.js';
import { getJson, waitFor } from '../helpers/clients.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway | undefined;
let fleet: Fleet | undefined;
afterEach(async () => {
  await fleet?.stop();
  fleet = undefined;
  await gw?.close();
  gw = undefined;
});

async function storedIn(base: string, windowMs: number): Promise<number> {
  const start = (await getJson(`${base}/series?metric=temperature&limit=1`)).body.cursor;
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  return (await getJson(`${base}/series?metric=temperature&after=${start}`)).body.points.length;
}

describe('simulated devices obey their shadow', () => {
  it('reports its settings, applies a new reporting interval from desired state, and reports it back', async () => {
    gw = await startTestGateway();
    fleet = await startFleet({ url: gw.mqttUrl, count: 1, rate: 1, profile: 'thermostat', idPrefix: 'cmd' });
    const base = `${gw.httpUrl}/api/devices/cmd-0001`;
    const initial = await waitFor(async () => {
      const { status, body } = await getJson(`${base}/shadow`);
      return status === 200 && body.state.reported?.intervalMs ? body : null;
    }, { what: 'the device reporting its settings' });
    expect(initial.state.reported).toEqual({ intervalMs: 1000, relay: false, setpoint: 21 });
    await waitFor(async () => (await getJson(`${base}/series?metric=temperature`)).status === 200, { what: 'first reading' });
    const before = await storedIn(base, 2_000);

    const post = await fetch(`${base}/shadow`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ state: { desired: { intervalMs: 200, relay: true, colour: 'blue' } } }),
    });
    expect(post.status).toBe(200);
    const synced = await waitFor(async () => {
      const { body } = await getJson(`${base}/shadow`);
      return body.state.reported.intervalMs === 200 ? body : null;
    }, { what: 'the device reporting the new interval' });
    // What the device does not understand stays pending, visibly.
    expect(synced.state.delta).toEqual({ colour: 'blue' });
    expect(synced.state.reported).toMatchObject({ intervalMs: 200, relay: true });
    const after = await storedIn(base, 2_000);
    expect(before).toBeLessThanOrEqual(4);
    expect(after).toBeGreaterThanOrEqual(before * 2);
  });
});
