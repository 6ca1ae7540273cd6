// The device shadow as the dashboard shows it (issue #7, "Commands"): reading
// GET /api/devices/{id}/shadow into rows of desired, reported and pending,
// turning the command form into a desired state, and POSTing it. Pure apart
// from the two requests, which take their fetch as an argument.
import { INTERVAL_LIMITS_MS, isValidIntervalMs } from '../broker/contract/commands.js';
import { NO_VALUE } from './format.js';

export type ShadowValues = Readonly<Record<string, unknown>>;

/** The parts of a shadow document the panel shows; empty objects when the device has no shadow yet. */
export interface ShadowView {
  desired: ShadowValues;
  reported: ShadowValues;
  /** Desired fields whose reported value differs: the commands not yet applied. */
  delta: ShadowValues;
  version: number | null;
}

export const NO_SHADOW: ShadowView = Object.freeze({ desired: {}, reported: {}, delta: {}, version: null });

/** What the form sets, in the order the table lists them. */
const COMMAND_FIELDS = ['intervalMs', 'relay', 'setpoint'] as const;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validates the response shape instead of trusting it, so a gateway bug shows as an error, not as a wrong table. */
export function parseShadow(body: unknown): ShadowView {
  const state = isRecord(body) ? body.state : undefined;
  if (!isRecord(body) || !isRecord(state)) throw new Error('shadow response lacks state');
  const section = (name: string) => (isRecord(state[name]) ? (state[name] as ShadowValues) : {});
  return { desired: section('desired'), reported: section('reported'), delta: section('delta'), version: typeof body.version === 'number' ? body.version : null };
}

export type RowState = 'in sync' | 'pending' | 'not set';

export interface ShadowRow {
  field: string;
  desired: string;
  reported: string;
  state: RowState;
}

function formatValue(value: unknown): string {
  return value === undefined ? NO_VALUE : typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * One row per field: the command fields first, then whatever else the shadow
 * holds, by name. A field in the delta is pending; one desired and not in the
 * delta is in sync; one only reported was never commanded.
 */
export function shadowRows(view: ShadowView): ShadowRow[] {
  const others = new Set([...Object.keys(view.desired), ...Object.keys(view.reported)]);
  for (const field of COMMAND_FIELDS) others.delete(field);
  return [...COMMAND_FIELDS, ...[...others].sort()].map((field) => ({
    field,
    desired: formatValue(view.desired[field]),
    reported: formatValue(view.reported[field]),
    state: Object.hasOwn(view.delta, field) ? 'pending' : Object.hasOwn(view.desired, field) ? 'in sync' : 'not set',
  }));
}

/** The form's inputs as typed: numbers as the text in their fields. */
export interface CommandForm {
  intervalMs: string;
  relay: boolean;
  setpoint: string;
}

/** The form filled from the shadow: what is desired, else what the device reports, else blank. */
export function formFromShadow(view: ShadowView): CommandForm {
  const pick = (field: string) => view.desired[field] ?? view.reported[field];
  const text = (v: unknown) => (typeof v === 'number' ? String(v) : '');
  return { intervalMs: text(pick('intervalMs')), relay: pick('relay') === true, setpoint: text(pick('setpoint')) };
}

/** The desired state the form asks for. A blank number is left out, so a person can send the relay alone. */
export function parseCommand(form: CommandForm): { ok: true; desired: Record<string, number | boolean> } | { ok: false; error: string } {
  const desired: Record<string, number | boolean> = { relay: form.relay };
  if (form.intervalMs.trim() !== '') {
    const ms = Number(form.intervalMs);
    if (!isValidIntervalMs(ms)) {
      return { ok: false, error: `The interval must be a whole number of ms from ${INTERVAL_LIMITS_MS.min} to ${INTERVAL_LIMITS_MS.max}.` };
    }
    desired.intervalMs = ms;
  }
  if (form.setpoint.trim() !== '') {
    const setpoint = Number(form.setpoint);
    if (!Number.isFinite(setpoint)) return { ok: false, error: 'The setpoint must be a number.' };
    desired.setpoint = setpoint;
  }
  return { ok: true, desired };
}

const shadowUrl = (baseUrl: string, deviceId: string) => `${baseUrl}/api/devices/${encodeURIComponent(deviceId)}/shadow`;

/** A refused request, with the gateway's error code and message when it sent them. */
export class ShadowHttpError extends Error {
  constructor(message: string, readonly status: number, readonly code: string | null) {
    super(message);
    this.name = 'ShadowHttpError';
  }
}

async function refusal(res: Response): Promise<ShadowHttpError> {
  const body: unknown = await res.json().catch(() => null);
  const error = isRecord(body) && isRecord(body.error) ? body.error : {};
  const code = typeof error.code === 'string' ? error.code : null;
  const message = typeof error.message === 'string' ? error.message : `HTTP ${res.status}`;
  return new ShadowHttpError(message, res.status, code);
}

/** The device's shadow; NO_SHADOW when it has none yet (404 no_shadow). */
export async function fetchShadow(baseUrl: string, deviceId: string, fetchFn: typeof fetch): Promise<ShadowView> {
  const res = await fetchFn(shadowUrl(baseUrl, deviceId), { headers: { accept: 'application/json' } });
  if (res.status === 404) {
    const err = await refusal(res);
    if (err.code === 'no_shadow') return NO_SHADOW;
    throw err;
  }
  if (!res.ok) throw await refusal(res);
  return parseShadow(await res.json());
}

/** POSTs a desired state; the admin token, when there is one, goes as the bearer (README "Security"). */
export async function sendDesired(
  baseUrl: string, deviceId: string, desired: ShadowValues, adminToken: string | null, fetchFn: typeof fetch,
): Promise<void> {
  const headers: Record<string, string> = { accept: 'application/json', 'content-type': 'application/json' };
  if (adminToken) headers.authorization = `Bearer ${adminToken}`;
  const res = await fetchFn(shadowUrl(baseUrl, deviceId), { method: 'POST', headers, body: JSON.stringify({ state: { desired } }) });
  if (!res.ok) throw await refusal(res);
}

/** What to tell a person whose command was refused, and whether a token could help. */
export function refusalText(err: ShadowHttpError, hadToken: boolean): { text: string; askToken: boolean } {
  if (err.status === 401) {
    return {
      askToken: true,
      text: hadToken
        ? 'The gateway refused the admin token. Paste its ADMIN_TOKEN again.'
        : 'Sending commands needs the gateway’s admin token (ADMIN_TOKEN). Paste it below; it is kept for this tab only.',
    };
  }
  if (err.status === 403) {
    return {
      askToken: true,
      text: `The gateway refused the command: ${err.message}. With ADMIN_TOKEN set on the gateway, paste the token below.`,
    };
  }
  return { askToken: false, text: `The command was not accepted (${err.status}${err.code === null ? '' : ` ${err.code}`}): ${err.message}` };
}
