// The device stream every method is measured on: one MQTT.js connection per
// device, each publishing `rate` readings a second with its own seq counter,
// the devices' start times spread over one interval so their readings do not
// all land in the same ingest batch.
import mqtt, { type MqttClient } from 'mqtt';
import { encodeTelemetry } from '../broker/contract/telemetry.js';
import { telemetryTopic } from '../broker/contract/topics.js';

export interface PublisherOptions {
  /** mqtt://host:port, or ws://host/mqtt with --url. */
  url: string;
  ids: readonly string[];
  /** Readings per second per device. */
  rate: number;
  metric: string;
}

export interface Publishers {
  /** The highest seq a device has published (and had acknowledged or not); 0 before the first. */
  lastSeq(id: string): number;
  readonly published: number;
  readonly errors: number;
  stop(): Promise<void>;
}

export async function startPublishers(opts: PublisherOptions): Promise<Publishers> {
  const intervalMs = 1000 / opts.rate;
  const seqs = new Map(opts.ids.map((id) => [id, 0]));
  const timers: ReturnType<typeof setTimeout>[] = [];
  let published = 0;
  let errors = 0;
  const clients: MqttClient[] = [];
  const stop = async () => {
    timers.forEach((t) => clearTimeout(t));
    await Promise.all(clients.map((c) => c.endAsync()));
  };

  const publish = (client: MqttClient, id: string) => {
    const seq = seqs.get(id)! + 1;
    seqs.set(id, seq);
    published++;
    const value = Math.round(1000 * (20 + 5 * Math.sin(seq / 20))) / 1000;
    const payload = encodeTelemetry({ ts: Date.now(), seq, metrics: { [opts.metric]: value } });
    // QoS 1 as the simulated devices use; an error here shows as a lost seq in the delivery check.
    return client.publishAsync(telemetryTopic(id), payload, { qos: 1 }).catch(() => void errors++);
  };

  try {
    for (const id of opts.ids) clients.push(await mqtt.connectAsync(opts.url, { clientId: id, reconnectPeriod: 1000 }));
    // A first reading per device, stored before any client asks: the series must exist for a backfill to find it.
    await Promise.all(clients.map((c, i) => publish(c, opts.ids[i]!)));
  } catch (err) {
    await stop();
    throw err;
  }
  clients.forEach((client, i) => {
    const id = opts.ids[i]!;
    const offset = (i * intervalMs) / clients.length;
    // Each next reading is scheduled from its due time, not from now, so the rate does not drift under load.
    let due = Date.now() + offset;
    const tick = () => {
      void publish(client, id);
      due += intervalMs;
      timers[i] = setTimeout(tick, Math.max(0, due - Date.now()));
    };
    timers[i] = setTimeout(tick, offset);
  });

  return {
    lastSeq: (id) => seqs.get(id) ?? 0,
    get published() {
      return published;
    },
    get errors() {
      return errors;
    },
    stop,
  };
}
