// A simulated device's side of its shadow, after AWS IoT Core's classic device
// flow: listen on /update/delta, ask for the document once connected (a delta
// published while the device was offline is not kept for it), apply what the
// device understands and report exactly that back, so the fields it cannot
// apply stay visible as the shadow's delta.
// https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-comms-device.html
import type { MqttClient } from 'mqtt';
import { isValidIntervalMs } from '../broker/contract/commands.js';
import { DEVICE_ROOT } from '../broker/contract/topics.js';

/** The settings a simulated device may accept from its desired state. */
export interface Settings {
  /** Reporting interval; whole milliseconds. */
  intervalMs?: number;
  relay?: boolean;
  setpoint?: number;
}

export type Capability = keyof Settings;

const VALID: { [K in Capability]-?: (value: unknown) => value is NonNullable<Settings[K]> } = {
  intervalMs: isValidIntervalMs,
  relay: (v): v is boolean => typeof v === 'boolean',
  setpoint: (v): v is number => typeof v === 'number' && Number.isFinite(v),
};

/**
 * The fields of `delta` that a device with `capabilities` supports and that
 * hold valid values. Anything else is left out, so it is never reported and
 * stays pending in the shadow, where a person can see it was not applied.
 */
export function understood(delta: Readonly<Record<string, unknown>>, capabilities: readonly Capability[]): Settings {
  const picked: Record<string, unknown> = {};
  for (const field of capabilities) {
    const value = delta[field];
    if (Object.hasOwn(delta, field) && VALID[field](value)) picked[field] = value;
  }
  return picked as Settings;
}

export interface ShadowSyncOptions {
  deviceId: string;
  /** Applies a delta's state; returns the fields now in effect (what gets reported). */
  apply(delta: Readonly<Record<string, unknown>>): Settings;
  /** The device's settings now, reported at start so the shadow shows them before any command. */
  current?(): Settings;
  /** A report that could not be published; the connection's own error handling does the rest. */
  onError?(err: Error): void;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One per connection: the simulator makes a new MQTT.js client for every connection. */
export class ShadowSync {
  readonly #client: MqttClient;
  readonly #o: ShadowSyncOptions;
  readonly #topics: { delta: string; getAccepted: string; get: string; update: string };
  /** The newest document version acted on, so an older answer arriving late cannot undo a newer command. */
  #version = 0;
  readonly #onMessage = (topic: string, payload: Buffer) => this.#handle(topic, payload);

  constructor(client: MqttClient, options: ShadowSyncOptions) {
    this.#client = client;
    this.#o = options;
    const base = `${DEVICE_ROOT}/${options.deviceId}/shadow`;
    this.#topics = { delta: `${base}/update/delta`, getAccepted: `${base}/get/accepted`, get: `${base}/get`, update: `${base}/update` };
  }

  /** Subscribes, reports the current settings, then asks for the document, whose delta is applied like any other. */
  async start(): Promise<void> {
    const t = this.#topics;
    this.#client.on('message', this.#onMessage);
    const granted = await this.#client.subscribeAsync([t.delta, t.getAccepted], { qos: 1 });
    // [MQTT-3.9.3] 0x80 is a refusal: the gateway's policy answers with it rather than closing the connection.
    const refused = granted.filter((g) => g.qos === 128).map((g) => g.topic);
    if (refused.length > 0) throw new Error(`shadow subscription refused: ${refused.join(', ')}`);
    const current = this.#o.current?.() ?? {};
    // The gateway handles one client's publishes in order, so the get below already sees this report.
    if (Object.keys(current).length > 0) await this.#client.publishAsync(t.update, JSON.stringify({ state: { reported: current } }), { qos: 1 });
    await this.#client.publishAsync(t.get, '{}', { qos: 1 });
  }

  /** Stops listening; the subscriptions go with the connection (clean session). */
  close(): void {
    this.#client.removeListener('message', this.#onMessage);
  }

  #handle(topic: string, payload: Buffer): void {
    if (topic !== this.#topics.delta && topic !== this.#topics.getAccepted) return;
    let body: unknown;
    try {
      body = JSON.parse(payload.toString('utf8'));
    } catch {
      return;
    }
    if (!isRecord(body) || !isRecord(body.state)) return;
    // A delta message's state is the delta; a document carries it as state.delta, absent when in sync.
    const delta = topic === this.#topics.delta ? body.state : body.state.delta;
    if (!isRecord(delta)) return;
    if (typeof body.version === 'number') {
      if (body.version <= this.#version) return;
      this.#version = body.version;
    }
    const applied = this.#o.apply(delta);
    if (Object.keys(applied).length === 0) return;
    this.#client.publish(this.#topics.update, JSON.stringify({ state: { reported: applied } }), { qos: 1 }, (err) => {
      if (err) this.#o.onError?.(err);
    });
  }
}
