// The shadow service: requests arrive on devices/{id}/shadow/update and /get
// (MQTT) or through the HTTP API, and answers go out on IoT Core's response
// topics: /update/accepted, /update/rejected, /update/delta,
// /update/documents, /get/accepted, /get/rejected.
import { DEVICE_ROOT, parseDeviceTopic } from '../contract/topics.js';
import { applyUpdate, describe, isObject, parseUpdate, type JsonObject, type ShadowError } from './document.js';
import type { ShadowStore } from './store.js';

export type Publish = (topic: string, payload: JsonObject) => void;

export type ShadowAnswer = { ok: true; body: JsonObject } | { ok: false; error: ShadowError };

const shadowTopic = (deviceId: string, suffix: string) => `${DEVICE_ROOT}/${deviceId}/shadow/${suffix}`;

function parseJson(payload: Uint8Array | string): unknown {
  try {
    return JSON.parse(typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8'));
  } catch {
    return undefined;
  }
}

export class ShadowService {
  constructor(
    private readonly store: ShadowStore,
    private readonly publish: Publish,
    private readonly now: () => number = Date.now,
  ) {}

  private nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  private rejected(deviceId: string, op: 'update' | 'get', error: ShadowError, clientToken?: unknown): ShadowAnswer {
    this.publish(shadowTopic(deviceId, `${op}/rejected`), {
      code: error.code,
      message: error.message,
      timestamp: this.nowSeconds(),
      ...(typeof clientToken === 'string' ? { clientToken } : {}),
    });
    return { ok: false, error };
  }

  update(deviceId: string, body: unknown): ShadowAnswer {
    const parsed = parseUpdate(body);
    const token = isObject(body as never) ? (body as JsonObject).clientToken : undefined;
    if (!parsed.ok) return this.rejected(deviceId, 'update', parsed.error, token);
    const result = applyUpdate(this.store.get(deviceId), parsed.request, this.nowSeconds());
    if (!result.ok) return this.rejected(deviceId, 'update', result.error, token);
    const { document, accepted, delta, documents } = result.outcome;
    this.store.put(deviceId, document);
    this.publish(shadowTopic(deviceId, 'update/accepted'), accepted);
    if (delta) this.publish(shadowTopic(deviceId, 'update/delta'), delta);
    this.publish(shadowTopic(deviceId, 'update/documents'), documents);
    return { ok: true, body: accepted };
  }

  /** The document with its delta. Only a request over MQTT is answered over MQTT, as in IoT Core. */
  get(deviceId: string, clientToken?: string): ShadowAnswer {
    const document = this.store.get(deviceId);
    if (!document) return { ok: false, error: { code: 404, message: `No shadow exists for device ${deviceId}` } };
    return { ok: true, body: describe(document, clientToken) };
  }

  /** Handles a publish to devices/{id}/shadow/update or /get; ignores every other topic. */
  handleMqtt(topic: string, payload: Uint8Array | string): void {
    // Called for every routed message: telemetry must not pay for a topic parse.
    if (!topic.includes('/shadow/')) return;
    const parsed = parseDeviceTopic(topic);
    if (!parsed || parsed.rest[0] !== 'shadow' || parsed.rest.length !== 2) return;
    const body = parseJson(payload);
    if (parsed.rest[1] === 'update') {
      if (body === undefined) this.rejected(parsed.deviceId, 'update', { code: 400, message: 'Invalid JSON' });
      else this.update(parsed.deviceId, body);
    } else if (parsed.rest[1] === 'get') {
      const token = isObject(body as never) ? (body as JsonObject).clientToken : undefined;
      const answer = this.get(parsed.deviceId, typeof token === 'string' ? token : undefined);
      if (answer.ok) this.publish(shadowTopic(parsed.deviceId, 'get/accepted'), answer.body);
      else this.rejected(parsed.deviceId, 'get', answer.error, token);
    }
  }
}
