// Device shadow semantics after AWS IoT Core's classic shadow: desired and
// reported state, a computed delta, per-field metadata timestamps (epoch
// seconds, as IoT Core), a version that grows with every accepted update,
// null deleting a field, and IoT Core's size and depth limits. Pure: the
// service around it does the I/O.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };
/** Metadata mirrors the state's shape with `{ timestamp }` at every leaf. */
export type Metadata = { [key: string]: Metadata | { timestamp: number } };

export interface ShadowState {
  desired?: JsonObject;
  reported?: JsonObject;
}

export interface ShadowDocument {
  state: ShadowState;
  metadata: { desired?: Metadata; reported?: Metadata };
  version: number;
  timestamp: number;
}

export interface ShadowError {
  code: 400 | 404 | 409 | 413;
  message: string;
}

export const SHADOW_LIMITS = { maxStateBytes: 8 * 1024, maxDepth: 6, maxClientTokenLength: 64 };

const SECTIONS = ['desired', 'reported'] as const;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A metadata leaf is `{ timestamp: number }`; a state field may itself be called "timestamp". */
function isLeaf(meta: Metadata | { timestamp: number }): meta is { timestamp: number } {
  return typeof (meta as { timestamp?: unknown }).timestamp === 'number';
}

function depth(value: Json): number {
  return isObject(value) ? 1 + Math.max(0, ...Object.values(value).map(depth)) : 0;
}

function deepEqual(a: Json | undefined, b: Json | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b) && (isObject(a) === isObject(b));
}

/** Applies a patch in place: null deletes, objects merge, anything else replaces. Returns the metadata of what it touched. */
function merge(target: JsonObject, meta: Metadata, patch: JsonObject, timestamp: number): Metadata {
  const touched: Metadata = {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      delete target[key];
      delete meta[key];
      touched[key] = { timestamp };
    } else if (isObject(value)) {
      if (!isObject(target[key])) target[key] = {};
      const existing = meta[key];
      const childMeta = existing && !isLeaf(existing) ? existing : (meta[key] = {});
      touched[key] = merge(target[key] as JsonObject, childMeta as Metadata, value, timestamp);
    } else {
      target[key] = value;
      meta[key] = { timestamp };
      touched[key] = { timestamp };
    }
  }
  return touched;
}

/** The fields of `desired` that `reported` does not match, recursively. */
export function computeDelta(desired: JsonObject | undefined, reported: JsonObject | undefined): JsonObject {
  const delta: JsonObject = {};
  for (const [key, want] of Object.entries(desired ?? {})) {
    const have = reported?.[key];
    if (isObject(want) && isObject(have)) {
      const sub = computeDelta(want, have);
      if (Object.keys(sub).length > 0) delta[key] = sub;
    } else if (!deepEqual(want, have)) {
      delta[key] = want;
    }
  }
  return delta;
}

/** The metadata of the delta's fields, taken from the desired metadata. */
function pickMetadata(delta: JsonObject, meta: Metadata | undefined): Metadata {
  const picked: Metadata = {};
  for (const [key, value] of Object.entries(delta)) {
    const m = meta?.[key];
    if (m === undefined) continue;
    picked[key] = isObject(value) && !isLeaf(m) ? pickMetadata(value, m) : m;
  }
  return picked;
}

export interface UpdateRequest {
  state: { desired?: JsonObject | null; reported?: JsonObject | null };
  version?: number;
  clientToken?: string;
}

/** Validates an update request's shape (not yet against the current version). */
export function parseUpdate(body: unknown): { ok: true; request: UpdateRequest } | { ok: false; error: ShadowError } {
  const fail = (code: ShadowError['code'], message: string) => ({ ok: false as const, error: { code, message } });
  if (!isObject(body)) return fail(400, 'Invalid JSON: the request must be a JSON object');
  if (JSON.stringify(body).length > SHADOW_LIMITS.maxStateBytes * 2) return fail(413, 'The payload exceeds the maximum size allowed');
  const { state, version, clientToken } = body;
  if (clientToken !== undefined && (typeof clientToken !== 'string' || clientToken.length > SHADOW_LIMITS.maxClientTokenLength)) {
    return fail(400, `clientToken must be a string of at most ${SHADOW_LIMITS.maxClientTokenLength} characters`);
  }
  if (version !== undefined && (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0)) {
    return fail(400, 'version must be a non-negative integer');
  }
  if (!isObject(state)) return fail(400, 'Missing required node: state');
  const keys = Object.keys(state);
  if (keys.length === 0 || keys.some((k) => !(SECTIONS as readonly string[]).includes(k))) {
    return fail(400, 'state must contain desired and/or reported, and nothing else');
  }
  for (const section of SECTIONS) {
    const value = state[section];
    if (value === undefined || value === null) continue;
    if (!isObject(value)) return fail(400, `state.${section} must be an object or null`);
    if (depth(value) > SHADOW_LIMITS.maxDepth) {
      return fail(400, `JSON contains too many levels of nesting; maximum is ${SHADOW_LIMITS.maxDepth}`);
    }
  }
  return { ok: true, request: body as unknown as UpdateRequest };
}

export interface UpdateOutcome {
  document: ShadowDocument;
  accepted: JsonObject;
  /** Present when the update changed desired state and desired and reported now differ. */
  delta: JsonObject | null;
  documents: JsonObject;
}

/** Applies a validated update to the current document (null when the device has no shadow yet). */
export function applyUpdate(current: ShadowDocument | null, request: UpdateRequest, nowSeconds: number): { ok: true; outcome: UpdateOutcome } | { ok: false; error: ShadowError } {
  const version = current?.version ?? 0;
  if (request.version !== undefined && request.version !== version) {
    return { ok: false, error: { code: 409, message: `Version conflict: the shadow is at version ${version}` } };
  }
  const next: ShadowDocument = current ? structuredClone(current) : { state: {}, metadata: {}, version: 0, timestamp: nowSeconds };
  const touched: { desired?: Metadata; reported?: Metadata } = {};
  for (const section of SECTIONS) {
    const patch = request.state[section];
    if (patch === undefined) continue;
    if (patch === null) {
      delete next.state[section];
      delete next.metadata[section];
      touched[section] = {};
      continue;
    }
    const target = (next.state[section] ??= {});
    const meta = (next.metadata[section] ??= {});
    touched[section] = merge(target, meta, patch, nowSeconds);
  }
  if (JSON.stringify(next.state).length > SHADOW_LIMITS.maxStateBytes) {
    return { ok: false, error: { code: 413, message: `The shadow state would exceed ${SHADOW_LIMITS.maxStateBytes} bytes` } };
  }
  next.version = version + 1;
  next.timestamp = nowSeconds;

  const token: JsonObject = request.clientToken === undefined ? {} : { clientToken: request.clientToken };
  const deltaState = computeDelta(next.state.desired, next.state.reported);
  const desiredChanged = isObject(request.state.desired ?? null);
  const delta = desiredChanged && Object.keys(deltaState).length > 0
    ? { state: deltaState, metadata: pickMetadata(deltaState, next.metadata.desired) as Json, version: next.version, timestamp: nowSeconds, ...token }
    : null;
  return {
    ok: true,
    outcome: {
      document: next,
      accepted: { state: request.state as Json, metadata: touched as Json, version: next.version, timestamp: nowSeconds, ...token },
      delta,
      documents: { previous: (current as unknown as Json) ?? null, current: next as unknown as Json, timestamp: nowSeconds, ...token },
    },
  };
}

/** What /get/accepted and GET /shadow answer: the document with its delta. */
export function describe(document: ShadowDocument, clientToken?: string): JsonObject {
  const delta = computeDelta(document.state.desired, document.state.reported);
  return {
    state: { ...document.state, ...(Object.keys(delta).length > 0 ? { delta } : {}) } as Json,
    metadata: document.metadata as Json,
    version: document.version,
    timestamp: document.timestamp,
    ...(clientToken === undefined ? {} : ({ clientToken } as JsonObject)),
  };
}
