// Fault injection (issue #4, item 4): payloads the gateway must refuse, one
// per rejection class of the contract, and a subscriber that reads too slowly.
// The gateway's counters should show each of them and nothing else should
// suffer. (Socket drops, storms and duplicate ids live in simulator.ts and fleet.ts.)
import net from 'node:net';
import tls from 'node:tls';
import { Duplex } from 'node:stream';
import { MqttClient, type IClientOptions } from 'mqtt';
import { createWebSocketStream, WebSocket } from 'ws';
import { MAX_METRICS, REJECT_REASONS, type RejectReason } from '../broker/contract/telemetry.js';
import { ALL_TELEMETRY, telemetryTopic } from '../broker/contract/topics.js';

/** A publish the gateway must refuse. */
export interface Malformed {
  topic: string;
  payload: string;
}

/**
 * A payload the contract refuses for `reason`. None carries a valid `seq` of the
 * device, so a gateway that wrongly accepted one would not disturb its series.
 */
export function malformedPayload(reason: RejectReason, deviceId: string, peerId: string, nowMs: number): Malformed {
  const topic = telemetryTopic(deviceId);
  const json = (body: unknown): Malformed => ({ topic, payload: JSON.stringify(body) });
  switch (reason) {
    case 'bad_json':
      // Truncated mid-object, as a device that lost power while writing would send.
      return { topic, payload: `{"ts":${nowMs},"seq":` };
    case 'bad_ts':
      return json({ ts: new Date(nowMs).toISOString(), metrics: { temperature: 21 } });
    case 'bad_seq':
      return json({ ts: nowMs, seq: -1, metrics: { temperature: 21 } });
    case 'no_metrics':
      return json({ ts: nowMs, metrics: {} });
    case 'bad_metric_name':
      return json({ ts: nowMs, metrics: { 'temp erature!': 21 } });
    case 'bad_metric_value':
      // JSON has no NaN; a number sent as a string is the common firmware bug.
      return json({ ts: nowMs, metrics: { temperature: '21.5' } });
    case 'too_large':
      // One metric over the contract's count limit: refused whatever byte limit the gateway is configured with.
      return json({ ts: nowMs, metrics: Object.fromEntries(Array.from({ length: MAX_METRICS + 1 }, (_, i) => [`m${i}`, i])) });
    case 'foreign_topic':
      return { topic: telemetryTopic(peerId), payload: JSON.stringify({ ts: nowMs, metrics: { temperature: 21 } }) };
  }
}

/** Hands out malformed payloads cycling through every rejection class, fleet-wide, so each class gets its share. */
export function malformedCycle(): (deviceId: string, peerId: string, nowMs: number) => Malformed {
  let n = 0;
  return (deviceId, peerId, nowMs) => malformedPayload(REJECT_REASONS[n++ % REJECT_REASONS.length]!, deviceId, peerId, nowMs);
}

/**
 * Sits between the transport and MQTT.js and hands on at most `bytesPerTick`
 * every `tickMs`. The transport stays in paused mode, so once its small
 * internal buffer is full it stops reading and TCP flow control pushes back on
 * the gateway. (Pausing MQTT.js's own piped socket does not hold: the pipe
 * resumes it on every drain.)
 */
class Trickle extends Duplex {
  readonly #timer: NodeJS.Timeout;

  constructor(private readonly inner: Duplex, bytesPerTick: number, tickMs: number) {
    super();
    this.#timer = setInterval(() => {
      const n = Math.min(bytesPerTick, inner.readableLength);
      // read(0) with nothing buffered asks the transport to fetch more from the kernel.
      const chunk = inner.read(n) as Buffer | null;
      if (chunk) this.push(chunk);
    }, tickMs);
    inner.on('end', () => this.push(null));
    inner.on('error', (err) => this.destroy(err));
    inner.on('close', () => this.destroy());
  }

  override _read(): void {
    // Data is pushed by the timer, never on demand: that is the point.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.inner.write(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.inner.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearInterval(this.#timer);
    this.inner.destroy();
    callback(error);
  }
}

function openTransport(url: URL, options: IClientOptions): Duplex {
  const port = Number(url.port);
  switch (url.protocol) {
    case 'mqtt:':
      return net.connect({ host: url.hostname, port: port || 1883 });
    case 'mqtts:':
      return tls.connect({ host: url.hostname, port: port || 8883, servername: url.hostname, ca: options.ca, rejectUnauthorized: options.rejectUnauthorized });
    default:
      // ws: and wss:, MQTT's registered WebSocket subprotocol.
      return createWebSocketStream(new WebSocket(url, ['mqtt'], { ca: options.ca, rejectUnauthorized: options.rejectUnauthorized }));
  }
}

export interface SlowSubscriberOptions {
  clientId: string;
  /** Password when the gateway requires credentials; the username is the client id. */
  secret?: string;
  /** Reading pace, bytes per second. Default 8 KiB/s. */
  bytesPerSecond?: number;
  mqttOptions?: IClientOptions;
}

export interface SlowSubscriber {
  /** Messages read so far. */
  readonly received: number;
  /** False once the gateway cut it off. */
  readonly connected: boolean;
  close(): Promise<void>;
}

export async function startSlowSubscriber(url: string, options: SlowSubscriberOptions): Promise<SlowSubscriber> {
  const tickMs = 100;
  const bytesPerTick = Math.max(1, Math.round(((options.bytesPerSecond ?? 8192) * tickMs) / 1000));
  const mqttOptions: IClientOptions = {
    ...options.mqttOptions,
    clientId: options.clientId,
    ...(options.secret === undefined ? {} : { username: options.clientId, password: options.secret }),
    protocolVersion: 4,
    clean: true,
    // A PINGRESP would wait behind the backlog and keepalive would then close the connection from our side.
    keepalive: 0,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
  };
  const client = new MqttClient(() => new Trickle(openTransport(new URL(url), mqttOptions), bytesPerTick, tickMs), mqttOptions);
  let received = 0;
  let connected = false;
  client.on('message', () => received++);
  client.on('close', () => (connected = false));
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
    client.once('close', () => reject(new Error(`slow subscriber could not connect to ${url}`)));
  });
  client.on('error', () => undefined);
  connected = true;
  await client.subscribeAsync(ALL_TELEMETRY, { qos: 0 });
  return {
    get received() {
      return received;
    },
    get connected() {
      return connected;
    },
    async close() {
      await client.endAsync(true);
    },
  };
}
