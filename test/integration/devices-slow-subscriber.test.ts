// --slow-subscriber against the real gateway: a subscriber to every device's
// telemetry that reads at a trickle. The gateway must shed its messages
// (gateway_mqtt_forward_dropped_total) and the devices must not notice.
import { afterEach, expect, it } from 'vitest';
import { startFleet, type Fleet } from '../../devices/fleet.js';
import { metricTotal, waitFor } from '../helpers/clients.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway | undefined;
let fleet: Fleet | undefined;
afterEach(async () => {
  await fleet?.stop();
  await gw?.close();
});

it('the gateway sheds a trickle-reading subscriber\'s messages while every device keeps its pace', async () => {
  gw = await startTestGateway();
  // Enough traffic (about 4,000 readings/s) to fill the kernel buffers towards
  // the subscriber within seconds; the gateway's own limit only starts after them.
  fleet = await startFleet({ url: gw.mqttUrl, count: 20, rate: 250, ramp: 0, qos: 0, slowSubscriber: true, profile: 'power-meter' });
  await waitFor(async () => (await metricTotal(gw!.httpUrl, 'gateway_mqtt_forward_dropped_total')) > 0, {
    timeoutMs: 25_000, intervalMs: 200, what: 'the gateway to shed the slow subscriber\'s messages',
  });
  const stats = fleet.stats();
  expect(stats.slowSubscriber).not.toBeNull();
  expect(stats.slowSubscriber!.received).toBeLessThan(stats.acknowledged / 10);
  // Devices were never held up: nothing piled up in their buffers, nothing was lost.
  expect(stats.produced - stats.acknowledged).toBeLessThan(20 * 10);
  expect(stats.dropped).toBe(0);
  expect(stats.errors).toBe(0);
  expect(await metricTotal(gw.httpUrl, 'gateway_readings_accepted_total')).toBeGreaterThanOrEqual(stats.acknowledged);
});
