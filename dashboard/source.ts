// The one interface every delivery method implements, so the panels compare
// like with like (STYLE.md 15), and the first method: short polling of the
// stored series with a cursor (DESIGN.md §2 HTTP API).
import type { SeriesPoint } from './series.js';

/** A reading of the selected metric as a source delivers it. */
export interface SourcePoint extends SeriesPoint {
  /** When the gateway accepted the reading, ms; only sources that read the store know it. */
  receivedAt?: number;
  /** When the gateway stored it, ms; only sources that read the store know it. */
  storedAt?: number;
  /** When this page got it, ms (the page's clock). */
  arrivedAt: number;
}

export interface PointBatch {
  /**
   * True for history a source loads when it starts (the newest stored points):
   * they were measured long before the page asked, so their delays say nothing
   * about the delivery method and are left out of its figures.
   */
  backfill: boolean;
}

export type SourceStatus = 'idle' | 'connecting' | 'open' | 'error' | 'stopped';

/** Cumulative per-source counters, reset only by creating a new source. */
export interface SourceCounters {
  /** Points handed to `onPoints`. */
  points: number;
  /** Requests this page sent: HTTP requests, or MQTT SUBSCRIBEs (one per connection). */
  requests: number;
  /** Messages that came back with data or an answer: HTTP responses, MQTT PUBLISHes. */
  messages: number;
  /** Application bytes received: HTTP bodies, MQTT topic + payload. Framing is left out for every method alike. */
  bytes: number;
  /** Failed requests, lost connections, and payloads the contract rejected. */
  errors: number;
}

export interface SourceHandlers {
  onPoints(points: SourcePoint[], batch: PointBatch): void;
  onStatus?(status: SourceStatus, detail: string): void;
}

/** What the dashboard watches. */
export interface SourceTarget {
  deviceId: string;
  metric: string;
}

/** A delivery method for one device's metric. `start` and `stop` may each be called once. */
export interface Source {
  start(): void;
  stop(): void;
  readonly status: SourceStatus;
  /** A snapshot; counting continues after it is read. */
  readonly counters: Readonly<SourceCounters>;
}

export type SourceFactory = (target: SourceTarget, handlers: SourceHandlers) => Source;

export function emptyCounters(): SourceCounters {
  return { points: 0, requests: 0, messages: 0, bytes: 0, errors: 0 };
}

export interface PollOptions extends SourceTarget {
  /** Gateway origin; '' means this page's origin. */
  baseUrl: string;
  /** Time between the starts of two requests; a slow response delays the next one, never overlaps it. */
  intervalMs: number;
  /** Points per response; the gateway's default (1000) when omitted. */
  limit?: number;
  fetch?: typeof fetch;
  now?: () => number;
}

/** The gateway's answer to GET /api/devices/{id}/series. */
interface SeriesPage {
  points: SourcePoint[];
  cursor: string;
}

const decoder = new TextDecoder();

function isNumberOrNull(v: unknown): v is number | null {
  return v === null || typeof v === 'number';
}

/** Validates the response shape instead of trusting it, so a gateway bug shows as an error, not as a broken chart. */
function parseSeriesPage(body: unknown, arrivedAt: number): SeriesPage {
  const page = body as { points?: unknown; cursor?: unknown } | null;
  if (!page || !Array.isArray(page.points) || typeof page.cursor !== 'string') {
    throw new Error('series response lacks points[] or cursor');
  }
  const points = page.points.map((row: unknown): SourcePoint => {
    if (!Array.isArray(row) || typeof row[0] !== 'number' || typeof row[1] !== 'number' || !isNumberOrNull(row[2])) {
      throw new Error('series response has a malformed point');
    }
    const [ts, value, seq, receivedAt, storedAt] = row as [number, number, number | null, unknown, unknown];
    const point: SourcePoint = { ts, value, seq, arrivedAt };
    if (typeof receivedAt === 'number') point.receivedAt = receivedAt;
    if (typeof storedAt === 'number') point.storedAt = storedAt;
    return point;
  });
  return { points, cursor: page.cursor };
}

function errorText(body: unknown, status: number): string {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  return typeof error?.message === 'string' ? `${status} ${String(error.code)}: ${error.message}` : `HTTP ${status}`;
}

/**
 * Short polling: every `intervalMs` asks for the points stored after the last
 * cursor. Passing the cursor back is what makes the sequence gap- and
 * duplicate-free; a failed request keeps the old cursor and is simply retried.
 */
export function pollSource(opts: PollOptions, handlers: SourceHandlers): Source {
  const fetchFn = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const now = opts.now ?? Date.now;
  const counters = emptyCounters();
  let status: SourceStatus = 'idle';
  let cursor: string | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inFlight: AbortController | null = null;

  function setStatus(next: SourceStatus, detail: string): void {
    if (status === 'stopped') return;
    status = next;
    handlers.onStatus?.(next, detail);
  }

  function url(): string {
    const params = new URLSearchParams({ metric: opts.metric });
    if (cursor !== null) params.set('after', cursor);
    if (opts.limit !== undefined) params.set('limit', String(opts.limit));
    return `${opts.baseUrl}/api/devices/${encodeURIComponent(opts.deviceId)}/series?${params}`;
  }

  async function tick(): Promise<void> {
    const startedAt = now();
    const controller = new AbortController();
    inFlight = controller;
    counters.requests++;
    try {
      const res = await fetchFn(url(), { signal: controller.signal, headers: { accept: 'application/json' } });
      const bytes = new Uint8Array(await res.arrayBuffer());
      counters.messages++;
      counters.bytes += bytes.byteLength;
      const body: unknown = JSON.parse(decoder.decode(bytes));
      if (!res.ok) throw new Error(errorText(body, res.status));
      const page = parseSeriesPage(body, now());
      if (controller.signal.aborted) return;
      const backfill = cursor === null;
      cursor = page.cursor;
      setStatus('open', `polling every ${opts.intervalMs} ms`);
      if (page.points.length > 0) {
        counters.points += page.points.length;
        handlers.onPoints(page.points, { backfill });
      }
    } catch (err) {
      if (controller.signal.aborted) return;
      counters.errors++;
      setStatus('error', err instanceof Error ? err.message : String(err));
    } finally {
      if (inFlight === controller) inFlight = null;
      if (!controller.signal.aborted && status !== 'stopped') {
        timer = setTimeout(() => void tick(), Math.max(0, opts.intervalMs - (now() - startedAt)));
      }
    }
  }

  return {
    start() {
      if (status !== 'idle') return;
      setStatus('connecting', 'first request');
      void tick();
    },
    stop() {
      setStatus('stopped', '');
      clearTimeout(timer);
      inFlight?.abort();
    },
    get status() {
      return status;
    },
    get counters() {
      return { ...counters };
    },
  };
}
