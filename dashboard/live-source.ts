// The live path: MQTT over WebSocket straight from the broker (DESIGN.md §1),
// using MQTT.js's browser build (MQTT.js README "Browser"). Payloads go through
// the same contract parser the gateway uses, so both agree on what a reading is.
import mqtt from 'mqtt';
import { parseTelemetry } from '../broker/contract/telemetry.js';
import { telemetryTopic } from '../broker/contract/topics.js';
import { emptyCounters, type Source, type SourceHandlers, type SourceStatus, type SourceTarget } from './source.js';

export interface LiveOptions extends SourceTarget {
  /** `ws(s)://host/mqtt`; see {@link mqttUrlFor}. */
  url: string;
  clientId: string;
  now?: () => number;
}

/** The MQTT-over-WebSocket endpoint on the page's own origin, as the gateway serves it. */
export function mqttUrlFor(location: { protocol: string; host: string }): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/mqtt`;
}

/** `dash-` marks the client as a read-only dashboard; the random part keeps two tabs from kicking each other off. */
export function dashboardClientId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return `dash-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

// The gateway already refused oversized or future-stamped readings before
// routing them; the page only needs a well-formed reading, and its own clock
// may differ from the gateway's.
const PARSE_LIMITS = { maxBytes: Number.POSITIVE_INFINITY, maxFutureMs: Number.POSITIVE_INFINITY };

const encoder = new TextEncoder();

export function liveSource(opts: LiveOptions, handlers: SourceHandlers): Source {
  const now = opts.now ?? Date.now;
  const topic = telemetryTopic(opts.deviceId);
  const counters = emptyCounters();
  let status: SourceStatus = 'idle';
  let client: mqtt.MqttClient | null = null;

  function setStatus(next: SourceStatus, detail: string): void {
    if (status === 'stopped') return;
    status = next;
    handlers.onStatus?.(next, detail);
  }

  function onMessage(msgTopic: string, payload: Uint8Array): void {
    const arrivedAt = now();
    counters.messages++;
    counters.bytes += encoder.encode(msgTopic).byteLength + payload.byteLength;
    const parsed = parseTelemetry(msgTopic, payload, { now: arrivedAt, ...PARSE_LIMITS });
    if (!parsed.ok) {
      counters.errors++;
      return;
    }
    const { reading } = parsed;
    const value = reading.metrics[opts.metric];
    // A reading without the selected metric is valid, just not for this chart.
    if (value === undefined) return;
    counters.points++;
    handlers.onPoints([{ ts: reading.ts, value, seq: reading.seq, arrivedAt }], { backfill: false });
  }

  function subscribe(c: mqtt.MqttClient): void {
    counters.requests++;
    c.subscribe(topic, { qos: 0 }, (err) => {
      if (err) {
        counters.errors++;
        setStatus('error', `subscribe refused: ${err.message}`);
      } else {
        setStatus('open', `subscribed to ${topic}`);
      }
    });
  }

  return {
    start() {
      if (status !== 'idle') return;
      setStatus('connecting', `connecting to ${opts.url}`);
      const c = mqtt.connect(opts.url, {
        clientId: opts.clientId,
        protocolVersion: 4,
        clean: true,
        // We subscribe on every CONNACK ourselves, so each SUBSCRIBE is counted once.
        resubscribe: false,
        // Come back quickly after a gateway restart; the panel shows the gap meanwhile.
        reconnectPeriod: 1000,
      });
      c.on('connect', () => subscribe(c));
      c.on('message', onMessage);
      c.on('reconnect', () => setStatus('connecting', `reconnecting to ${opts.url}`));
      c.on('close', () => {
        // After an 'error' event the close that follows is the same failure; count it once.
        if (status !== 'open') return;
        counters.errors++;
        setStatus('error', 'connection lost');
      });
      c.on('error', (err) => {
        counters.errors++;
        setStatus('error', err.message);
      });
      client = c;
    },
    stop() {
      setStatus('stopped', '');
      client?.end(true);
      client = null;
    },
    get status() {
      return status;
    },
    get counters() {
      return { ...counters };
    },
  };
}
