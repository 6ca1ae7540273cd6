// Devices for the crash tests: MQTT.js clients that publish numbered QoS 1
// readings on a timer, reconnect on their own (MQTT.js sends every reading
// not yet acknowledged again after a reconnect, as a device must), and record
// what the gateway acknowledged and how many PUBLISH packets they sent.
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { telemetryTopic } from '../../broker/contract/topics.js';

export interface Publisher {
  deviceId: string;
  client: MqttClient;
  /** Readings created, numbered 1..published. */
  published: number;
  /** Sequence numbers the gateway acknowledged. */
  acked: Set<number>;
  /** PUBLISH packets sent, first sends and retransmissions. */
  packets: number;
}

export interface Publishers {
  list: Publisher[];
  /** Stops creating readings; those created are still sent until acknowledged. */
  stopCreating(): void;
  /** Resolves once every reading created is acknowledged. */
  allAcked(timeoutMs: number): Promise<void>;
  totals(): { published: number; acked: number; packets: number };
  close(): Promise<void>;
}

/** `connect(deviceId)` gives the URL and options (e.g. `servers` for fail-over) of one device. */
export async function startPublishers(
  ids: readonly string[],
  connect: (deviceId: string) => { url: string; options?: IClientOptions },
  ratePerSecond: number,
): Promise<Publishers> {
  const list: Publisher[] = await Promise.all(ids.map(async (deviceId) => {
    const { url, options } = connect(deviceId);
    const client = await mqtt.connectAsync(url, { clientId: deviceId, reconnectPeriod: 100, connectTimeout: 3_000, ...options });
    const publisher: Publisher = { deviceId, client, published: 0, acked: new Set(), packets: 0 };
    client.on('packetsend', (packet) => {
      if (packet.cmd === 'publish') publisher.packets += 1;
    });
    // Connection errors while a gateway is down are expected; MQTT.js reconnects.
    client.on('error', () => {});
    return publisher;
  }));
  const pending = new Set<Promise<void>>();
  const timer = setInterval(() => {
    for (const p of list) {
      const seq = ++p.published;
      const payload = JSON.stringify({ ts: Date.now(), seq, metrics: { v: seq } });
      const sent = p.client.publishAsync(telemetryTopic(p.deviceId), payload, { qos: 1 }).then(() => {
        p.acked.add(seq);
      }, () => {});
      pending.add(sent);
      void sent.finally(() => pending.delete(sent));
    }
  }, 1000 / ratePerSecond);
  return {
    list,
    stopCreating: () => clearInterval(timer),
    async allAcked(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (list.some((p) => p.acked.size < p.published)) {
        if (Date.now() > deadline) {
          const missing = list.reduce((sum, p) => sum + p.published - p.acked.size, 0);
          throw new Error(`${missing} readings still unacknowledged after ${timeoutMs} ms`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    totals: () => ({
      published: list.reduce((sum, p) => sum + p.published, 0),
      acked: list.reduce((sum, p) => sum + p.acked.size, 0),
      packets: list.reduce((sum, p) => sum + p.packets, 0),
    }),
    async close() {
      clearInterval(timer);
      await Promise.all(list.map((p) => p.client.endAsync(true)));
    },
  };
}
