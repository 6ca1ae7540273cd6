// Each fault flag against the real gateway, judged by the gateway's own
// counters and stored series: faults are refused and counted, and nothing
// else suffers.
import type { MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REJECT_REASONS } from '../../broker/contract/telemetry.js';
import { startFleet, type Fleet, type FleetOptions } from '../../devices/fleet.js';
import { collect, connectClient, getJson, metricValue, waitFor } from '../helpers/clients.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

type Point = [ts: number, value: number, seq: number, receivedAt: number, storedAt: number];

let gw: TestGateway;
const fleets: Fleet[] = [];
const clients: MqttClient[] = [];
beforeEach(async () => {
  gw = await startTestGateway();
});
afterEach(async () => {
  await Promise.all(fleets.splice(0).map((f) => f.stop()));
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await gw.close();
});

async function fleetOn(options: Omit<FleetOptions, 'url'>): Promise<Fleet> {
  const fleet = await startFleet({ url: gw.mqttUrl, ramp: 0, backoff: { baseMs: 100, maxMs: 400 }, ...options });
  fleets.push(fleet);
  return fleet;
}

/** The last wills the gateway sends: one per connection it saw die without a DISCONNECT. */
async function watchWills(): Promise<{ topic: string }[]> {
  const watcher = await connectClient(gw.mqttUrl, { clientId: 'will-watcher' });
  clients.push(watcher);
  await watcher.subscribeAsync('devices/+/status');
  return collect(watcher);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const metric = (name: string, labels = '') => metricValue(gw.httpUrl, name, labels);

/** Every device's stored seqs are 0..max with none missing (and max + 1 = `perDevice` when given). */
async function expectNoGaps(fleet: Fleet, metricName: string, perDevice?: number): Promise<void> {
  await waitFor(async () => (await metric('gateway_ingest_queue_depth')) === 0, { what: 'ingest drained' });
  for (const id of fleet.ids) {
    const { body } = await getJson<{ points: Point[] }>(`${gw.httpUrl}/api/devices/${id}/series?metric=${metricName}&after=0&limit=10000`);
    const seqs = new Set(body.points.map((p) => p[2]));
    const max = Math.max(...seqs);
    expect(seqs.size, `${id}: distinct seqs 0..${max}`).toBe(max + 1);
    if (perDevice !== undefined) expect(max + 1, id).toBe(perDevice);
  }
}

describe('fault injection against the gateway', () => {
  it('--malformed-rate: every rejection class is counted by reason, answered to the device, and the valid readings all stored', async () => {
    const fleet = await fleetOn({ count: 4, rate: 50, malformedRate: 0.5, profile: 'thermostat' });
    await waitFor(() => fleet.stats().malformed >= 5 * REJECT_REASONS.length, { what: 'malformed payloads' });
    await fleet.stop();
    const stats = fleet.stats();
    let rejected = 0;
    for (const reason of REJECT_REASONS) {
      const n = await metric('gateway_readings_rejected_total', `reason="${reason}"`);
      expect(n, reason).toBeGreaterThanOrEqual(5);
      rejected += n;
    }
    expect(rejected).toBe(stats.malformed);
    expect(await metric('gateway_readings_accepted_total')).toBe(stats.acknowledged);
    expect(stats.rejected).toBe(stats.malformed);
    await expectNoGaps(fleet, 'temperature');
  });

  it('--disconnect-every: sockets die (the gateway sends the wills), devices reconnect, and the series has no gap', async () => {
    const wills = await watchWills();
    const fleet = await fleetOn({ count: 5, rate: 40, messages: 80, disconnectEveryMs: 400, profile: 'thermostat' });
    await waitFor(() => fleet.settled(), { what: 'every reading acknowledged' });
    await fleet.stop();
    const stats = fleet.stats();
    expect(stats.reconnects).toBeGreaterThanOrEqual(10);
    expect(wills.length).toBeGreaterThanOrEqual(stats.reconnects);
    expect(stats).toMatchObject({ produced: 400, acknowledged: 400, dropped: 0 });
    // At least once: a reading whose PUBACK died with the socket is sent again.
    expect(await metric('gateway_readings_accepted_total')).toBeGreaterThanOrEqual(400);
    await expectNoGaps(fleet, 'temperature', 80);
  });

  it('--duplicate-ids: the gateway keeps one session per client id, taking it over each time', async () => {
    const fleet = await fleetOn({ count: 3, rate: 10, duplicateIds: 2, profile: 'thermostat' });
    let maxConnections = 0;
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      maxConnections = Math.max(maxConnections, await metric('gateway_mqtt_connections', 'transport="tcp"'));
      await sleep(50);
    }
    const stats = fleet.stats();
    expect(stats.connections).toBe(5);
    // Five clients, three ids: never more than three sessions, and takeovers force reconnects.
    expect(maxConnections).toBeLessThanOrEqual(3);
    expect(stats.connects).toBeGreaterThan(5);
    const { body } = await getJson<{ devices: { id: string }[] }>(`${gw.httpUrl}/api/devices`);
    expect(body.devices.map((d) => d.id).sort()).toEqual(fleet.ids);
  });

  it('--storm: every device drops and is back at once, ignoring backoff', async () => {
    const wills = await watchWills();
    const fleet = await fleetOn({ count: 20, rate: 10, stormEveryMs: 1000, backoff: { baseMs: 5000, maxMs: 5000 } });
    await waitFor(() => fleet.stats().storms === 1 && wills.length >= 20, { what: 'the first storm' });
    const stormAt = Date.now();
    await waitFor(async () => (await metric('gateway_mqtt_connections', 'transport="tcp"')) === 21 && fleet.stats().connected === 20, {
      what: 'every device back',
    });
    // With a 5 s backoff window, only skipping backoff brings twenty devices back this fast.
    expect(Date.now() - stormAt).toBeLessThan(1000);
    expect(fleet.stats().reconnects).toBe(20);
  });
});
