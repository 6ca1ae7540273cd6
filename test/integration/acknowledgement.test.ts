import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { ALL_TELEMETRY, telemetryTopic } from '../../broker/contract/topics.js';
import { collect, connectClient, type Message, metricValue, reading, waitFor } from '../helpers/clients.js';
import { connectPacket } from '../helpers/fuzz.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway | undefined;
const clients: MqttClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await gw?.close();
  gw = undefined;
});

/** Batches are written only when flushed by hand: an acknowledgement has to wait for that. */
const startManualFlushGateway = () => startTestGateway({ INGEST_FLUSH_MS: '60000', INGEST_BATCH_SIZE: '100000' });

/** A subscriber of all telemetry at `url`; what it receives. */
async function watchTelemetry(url: string): Promise<Message[]> {
  const watcher = await connectClient(url, { clientId: 'watcher' });
  clients.push(watcher);
  const live = collect(watcher);
  await watcher.subscribeAsync(ALL_TELEMETRY);
  return live;
}

describe('acknowledgement means the gateway has the reading', () => {
  it('routes a QoS 1 reading to live subscribers at once, but sends its PUBACK only after the store has it', async () => {
    gw = await startManualFlushGateway();
    const live = await watchTelemetry(gw.wsUrl);
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
    gw = await startManualFlushGateway();
    const device = await connectClient(gw.mqttUrl, { clientId: 'acked-2' });
    clients.push(device);
    await device.publishAsync('lab/state', 'on', { qos: 1 });
    await device.publishAsync(telemetryTopic('acked-2'), reading(1), { qos: 0 });
    await waitFor(async () => (await metricValue(gw!.httpUrl, 'gateway_readings_accepted_total')) === 1);
    expect(await metricValue(gw.httpUrl, 'gateway_readings_stored_total')).toBe(0);
  });

  it('reads a device\'s next publishes while the first waits for the store, and sends the PUBACKs in the order of the PUBLISHes', async () => {
    gw = await startManualFlushGateway();
    const live = await watchTelemetry(gw.mqttUrl);

    // A raw connection, to see each PUBACK as it comes.
    const socket = net.connect(Number(new URL(gw.mqttUrl).port), '127.0.0.1');
    const received: Packet[] = [];
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (packet) => received.push(packet));
    socket.on('data', (chunk) => parser.parse(chunk));
    try {
      socket.write(connectPacket('acked-3'));
      await waitFor(() => received.some((p) => p.cmd === 'connack'), { what: 'CONNACK' });
      const publish = (messageId: number, payload: string) =>
        mqttPacket.generate({ cmd: 'publish', topic: telemetryTopic('acked-3'), payload, qos: 1, messageId, retain: false, dup: false });
      // 1 is valid and waits for the store; 2 is refused by validation, so ready at once, but must not overtake 1.
      socket.write(Buffer.concat([publish(1, reading(1)), publish(2, '{not json')]));
      await waitFor(() => live.length === 1, { what: 'live delivery of 1' });
      // A later write: read and routed although 1 is still unacknowledged.
      socket.write(publish(3, reading(3)));
      await waitFor(() => live.length === 2, { what: 'live delivery of 3 before the store has 1' });
      await sleep(200);
      expect(received.filter((p) => p.cmd === 'puback')).toEqual([]);

      await gw.gateway.ingest.flush();
      await waitFor(() => received.filter((p) => p.cmd === 'puback').length === 3, { what: 'three PUBACKs' });
      expect(received.filter((p) => p.cmd === 'puback').map((p) => (p as { messageId: number }).messageId)).toEqual([1, 2, 3]);
    } finally {
      socket.destroy();
    }
  });
});
