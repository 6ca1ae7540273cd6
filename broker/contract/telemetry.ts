// The telemetry payload contract (DESIGN.md §2): one pure parser shared by the
// gateway (ingest), the simulators (self-check) and the dashboard (live path).
import { parseDeviceTopic } from './topics.js';

export const REJECT_REASONS = [
  'bad_json',
  'bad_ts',
  'bad_seq',
  'no_metrics',
  'bad_metric_name',
  'bad_metric_value',
  'too_large',
  'foreign_topic',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export const METRIC_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
export const MAX_METRICS = 64;
/** Readings stamped before 2000-01-01 come from devices whose clock was never set. */
export const MIN_TS = 946_684_800_000;

/** What a device sends on `devices/{id}/telemetry`. */
export interface TelemetryPayload {
  ts?: number;
  seq?: number;
  metrics: Record<string, number>;
}

/** A validated reading, stamped with the gateway's receive time. */
export interface Reading {
  deviceId: string;
  /** Device measurement time, ms since the epoch (the receive time when the device sent none). */
  ts: number;
  /** The device's own counter, for gap and duplicate detection; null when not sent. */
  seq: number | null;
  metrics: Record<string, number>;
  /** When the gateway accepted it, ms since the epoch. */
  receivedAt: number;
}

export interface ParseOptions {
  /** The gateway's clock at receipt, ms. */
  now: number;
  /** Largest accepted payload in bytes. */
  maxBytes: number;
  /** How far in the future (device clock skew) a `ts` may be, ms. */
  maxFutureMs: number;
  /** The MQTT client id that published, when the caller enforces ownership of the topic. */
  clientId?: string;
}

export type ParseResult =
  | { ok: true; reading: Reading }
  | { ok: false; reason: RejectReason; message: string; deviceId: string | null };

const decoder = new TextDecoder('utf-8', { fatal: true });

function reject(reason: RejectReason, message: string, deviceId: string | null): ParseResult {
  return { ok: false, reason, message, deviceId };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Validates one telemetry publish. Never throws: every way a payload can be
 * wrong maps to a reason code, so the caller can count and report it.
 */
export function parseTelemetry(topic: string, payload: Uint8Array | string, opts: ParseOptions): ParseResult {
  const parsedTopic = parseDeviceTopic(topic);
  if (!parsedTopic || parsedTopic.kind !== 'telemetry') {
    return reject('foreign_topic', `not a telemetry topic: ${topic.slice(0, 200)}`, null);
  }
  const { deviceId } = parsedTopic;
  if (opts.clientId !== undefined && opts.clientId !== deviceId) {
    return reject('foreign_topic', `client ${opts.clientId} may not publish telemetry for device ${deviceId}`, deviceId);
  }
  const size = typeof payload === 'string' ? payload.length : payload.byteLength;
  if (size > opts.maxBytes) {
    return reject('too_large', `payload is ${size} bytes, the limit is ${opts.maxBytes}`, deviceId);
  }

  let body: unknown;
  try {
    body = JSON.parse(typeof payload === 'string' ? payload : decoder.decode(payload));
  } catch {
    return reject('bad_json', 'payload is not valid UTF-8 JSON', deviceId);
  }
  if (!isRecord(body)) return reject('bad_json', 'payload must be a JSON object', deviceId);

  let ts = opts.now;
  if (body.ts !== undefined) {
    if (typeof body.ts !== 'number' || !Number.isSafeInteger(body.ts)) {
      return reject('bad_ts', '`ts` must be an integer number of milliseconds since the epoch', deviceId);
    }
    if (body.ts < MIN_TS) return reject('bad_ts', `\`ts\` ${body.ts} is before 2000-01-01; is the device clock set?`, deviceId);
    if (body.ts > opts.now + opts.maxFutureMs) {
      return reject('bad_ts', `\`ts\` is ${body.ts - opts.now} ms in the future (limit ${opts.maxFutureMs} ms)`, deviceId);
    }
    ts = body.ts;
  }

  let seq: number | null = null;
  if (body.seq !== undefined && body.seq !== null) {
    if (typeof body.seq !== 'number' || !Number.isSafeInteger(body.seq) || body.seq < 0) {
      return reject('bad_seq', '`seq` must be a non-negative integer', deviceId);
    }
    seq = body.seq;
  }

  if (!isRecord(body.metrics)) return reject('no_metrics', 'payload needs an object `metrics` of name -> number', deviceId);
  const names = Object.keys(body.metrics);
  if (names.length === 0) return reject('no_metrics', '`metrics` is empty', deviceId);
  if (names.length > MAX_METRICS) {
    return reject('too_large', `${names.length} metrics in one reading, the limit is ${MAX_METRICS}`, deviceId);
  }
  // A null prototype keeps a metric named `__proto__` an ordinary entry.
  const metrics: Record<string, number> = Object.create(null) as Record<string, number>;
  for (const name of names) {
    if (!METRIC_NAME_PATTERN.test(name)) {
      return reject('bad_metric_name', `metric name ${JSON.stringify(name.slice(0, 80))} must match ${METRIC_NAME_PATTERN.source}`, deviceId);
    }
    const value = body.metrics[name];
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      return reject('bad_metric_value', `metric ${name} must be a finite number`, deviceId);
    }
    metrics[name] = value;
  }

  return { ok: true, reading: { deviceId, ts, seq, metrics, receivedAt: opts.now } };
}

/** Serialises a payload the way devices should send it. */
export function encodeTelemetry(payload: TelemetryPayload): string {
  return JSON.stringify(payload);
}
