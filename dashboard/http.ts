// Reading the stored series over HTTP (GET /api/devices/{id}/series), shared by
// the four sources: the polls read it all the time, SSE and live MQTT read it
// to backfill. Every request is counted and measured the same way here.
import type { TransferMeter } from './bytes.js';
import type { Mark } from './continuity.js';
import type { SeriesPoint } from './series.js';
import type { SourceCounters, SourcePoint, SourceTarget } from './source.js';

/** What a source needs to talk HTTP; injected so Node (npm run compare) and tests can supply their own. */
export interface HttpEnv {
  /** Gateway origin; '' means the page's own origin. */
  baseUrl: string;
  fetch: typeof fetch;
  meter: TransferMeter;
  now: () => number;
}

export interface SeriesPage {
  points: SourcePoint[];
  cursor: string;
}

export interface SeriesParams {
  /** Only points stored after this cursor; null or absent: the newest `limit`. */
  after?: string | null;
  limit?: number;
  /** Long polling: hold the request up to this many seconds for a new point. */
  wait?: number;
}

/** A non-2xx answer. `retryAfterMs` comes from a 503's Retry-After. */
export class HttpError extends Error {
  constructor(message: string, readonly status: number, readonly retryAfterMs: number | null) {
    super(message);
    this.name = 'HttpError';
  }
}

const decoder = new TextDecoder();

function isNumberOrNull(v: unknown): v is number | null {
  return v === null || typeof v === 'number';
}

/** The stored form of one point, [ts, value, seq, receivedAt, storedAt]; SSE events carry the same array. */
export function parseStoredPoint(row: unknown, arrivedAt: number): SourcePoint {
  if (!Array.isArray(row) || typeof row[0] !== 'number' || typeof row[1] !== 'number' || !isNumberOrNull(row[2])) {
    throw new Error('malformed point');
  }
  const [ts, value, seq, receivedAt, storedAt] = row as [number, number, number | null, unknown, unknown];
  const point: SourcePoint = { ts, value, seq, arrivedAt };
  if (typeof receivedAt === 'number') point.receivedAt = receivedAt;
  if (typeof storedAt === 'number') point.storedAt = storedAt;
  return point;
}

/** Validates the response shape instead of trusting it, so a gateway bug shows as an error, not as a broken chart. */
function parseSeriesPage(body: unknown, arrivedAt: number): SeriesPage {
  const page = body as { points?: unknown; cursor?: unknown } | null;
  if (!page || !Array.isArray(page.points) || typeof page.cursor !== 'string') {
    throw new Error('series response lacks points[] or cursor');
  }
  return { points: page.points.map((row: unknown) => parseStoredPoint(row, arrivedAt)), cursor: page.cursor };
}

function errorText(body: unknown, status: number): string {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  return typeof error?.message === 'string' ? `${status} ${String(error.code)}: ${error.message}` : `HTTP ${status}`;
}

function seriesUrl(baseUrl: string, target: SourceTarget, params: SeriesParams): string {
  const query = new URLSearchParams({ metric: target.metric });
  if (params.after != null) query.set('after', params.after);
  if (params.limit !== undefined) query.set('limit', String(params.limit));
  if (params.wait !== undefined) query.set('wait', String(params.wait));
  return `${baseUrl}/api/devices/${encodeURIComponent(target.deviceId)}/series?${query}`;
}

/** One request, counted in `counters` (the request, and its bytes; `backfill` bytes apart as well), its body parsed as JSON. */
async function fetchJson(
  env: HttpEnv, url: string, init: RequestInit, counters: SourceCounters, backfill: boolean,
): Promise<{ res: Response; body: unknown }> {
  counters.requests++;
  const ticket = env.meter.track(url);
  let res: Response;
  let bytes: Uint8Array;
  try {
    res = await env.fetch(url, { ...init, headers: { accept: 'application/json' } });
    bytes = new Uint8Array(await res.arrayBuffer());
  } catch (err) {
    ticket.cancel();
    throw err;
  }
  void ticket.done(res, bytes.byteLength).then((n) => {
    counters.bytes += n;
    if (backfill) counters.backfillBytes += n;
  });
  const body: unknown = JSON.parse(decoder.decode(bytes));
  if (!res.ok) {
    const retryAfter = Number(res.headers.get('retry-after'));
    throw new HttpError(errorText(body, res.status), res.status, retryAfter > 0 ? retryAfter * 1000 : null);
  }
  return { res, body };
}

/** One GET of the series, counted in `counters` (request, response, empty, bytes; `backfill` bytes apart as well). */
export async function getSeries(
  env: HttpEnv,
  target: SourceTarget,
  params: SeriesParams,
  counters: SourceCounters,
  signal?: AbortSignal,
  backfill = false,
): Promise<SeriesPage> {
  const { body } = await fetchJson(env, seriesUrl(env.baseUrl, target, params), { signal }, counters, backfill);
  const page = parseSeriesPage(body, env.now());
  counters.responses++;
  if (page.points.length === 0) counters.emptyResponses++;
  return page;
}

/** A short-lived, read-only MQTT credential for a browser (README "Security": `$viewer` and a signed token). */
export interface ViewerToken {
  username: string;
  token: string;
}

/** POST /api/tokens, counted like any other request of the source. */
export async function viewerToken(env: HttpEnv, counters: SourceCounters, signal?: AbortSignal): Promise<ViewerToken> {
  const { body } = await fetchJson(env, `${env.baseUrl}/api/tokens`, { method: 'POST', signal }, counters, false);
  const { username, token } = (body ?? {}) as { username?: unknown; token?: unknown };
  if (typeof username !== 'string' || typeof token !== 'string') throw new Error('token response lacks username or token');
  return { username, token };
}

/**
 * What was stored after `cursor`, or the newest `limit` points without one.
 * When more than `limit` points were missed (a long time in the background),
 * the chart could not hold them all anyway: the newest `limit` are loaded
 * instead, which keeps the chart contiguous.
 */
export async function backfill(
  env: HttpEnv, target: SourceTarget, cursor: string | null, limit: number, counters: SourceCounters, signal?: AbortSignal,
): Promise<SeriesPage> {
  if (cursor !== null) {
    const page = await getSeries(env, target, { after: cursor, limit }, counters, signal, true);
    if (page.points.length < limit) return page;
  }
  return getSeries(env, target, { limit }, counters, signal, true);
}

/** Whether a page of the newest points reaches back to `last`, so nothing after `last` can be missing from it. */
export function reaches(points: readonly SeriesPoint[], last: Mark): boolean {
  return points.some((p) => p.ts < last.ts || (p.ts === last.ts && p.seq === last.seq));
}

/** The page size a catch-up starts with: a short outage costs one small request. */
export const CATCH_UP_FIRST = 64;

/**
 * Catch-up for a source that has no store cursor (live MQTT): the newest
 * points, in pages growing 4x until they reach back to `last` (the reading up
 * to which it knows it has everything), or `limit`. Null `last`: the newest `limit`.
 */
export async function catchUp(
  env: HttpEnv, target: SourceTarget, last: Mark | null, limit: number, counters: SourceCounters,
  signal?: AbortSignal, backfill = false,
): Promise<SeriesPage> {
  let size = last === null ? limit : Math.min(CATCH_UP_FIRST, limit);
  for (;;) {
    const page = await getSeries(env, target, { limit: size }, counters, signal, backfill);
    if (last === null || page.points.length < size || size >= limit || reaches(page.points, last)) return page;
    size = Math.min(size * 4, limit);
  }
}
