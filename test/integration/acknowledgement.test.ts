import { afterEach, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { ALL_TELEMETRY, telemetryTopic } from '../../broker/contract/topics.js';
import { collect, connectClient, metricValue, reading, waitFor } from '../helpers/clients.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway | undefined;
const clients: MqttClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await gw?.close();
  gw = undefined;
});

describe('acknowledgement means the gateway has the reading', () => {
  it('routes a QoS 1 reading to live subscribers at once, but sends its PUBACK only after the store has it', async () => {
    // Batches are written only when flushed by hand: the PUBACK has to wait for that.
    gw = await startTestGateway({ INGEST_FLUSH_MS: '60000', INGEST_BATCH_SIZE: '100000' });
    const watcher = await connectClient(gw.wsUrl, { clientId: 'watcher' });
    clients.push(watcher);
    const live = collect(watcher);
    await watcher.subscribeAsync(ALL_TELEMETRY);
    const device = await connectClient(gw.mqttUrl, { clientId: 'acked-1' });
    clients.push(device);

    let acked = false;
    const ack = device.publishAsync(telemetryTopic('acked-1'), reading(1), { qos: 1 }).then(() => {
      acked = true;
    });
    await waitFor(() => live.length === 1, { what: 'live delivery' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(acked).toBe(false);
    expect(await metricValue(gw.httpUrl, 'gateway_readings_stored_total')).toBe(0);

    await gw.gateway.ingest.flush();
    await ack;
    expect(await metricValue(gw.httpUrl, 'gateway_readings_stored_total')).toBe(1);
  });

  it('acknowledges QoS 0 and non-telemetry QoS 1 without waiting for the store', async () => {
    gw = await startTestGateway({ INGEST_FLUSH_MS: '60000', INGEST_BATCH_SIZE: '100000' });
    const device = await connectClient(gw.mqttUrl, { clientId: 'acked-2' });
    clients.push(device);
    await device.publishAsync('lab/state', 'on', { qos: 1 });
    await device.publishAsync(telemetryTopic('acked-2'), reading(1), { qos: 0 });
    await waitFor(async () => (await metricValue(gw!.httpUrl, 'gateway_readings_accepted_total')) === 1);
    expect(await metricValue(gw.httpUrl, 'gateway_readings_stored_total')).toBe(0);
  });
});
