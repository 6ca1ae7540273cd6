// The one interface every delivery method implements, so the panels (and the
// lab's Node clients) compare like with like (STYLE.md 15). Nothing here
// touches the DOM: `npm run compare` runs the same sources under Node.
import type { SeriesPoint } from './series.js';

/** A reading of the selected metric as a source delivers it. */
export interface SourcePoint extends SeriesPoint {
  /** When the gateway accepted the reading, ms; only points read from the store carry it. */
  receivedAt?: number;
  /** When the gateway committed it to the store, ms; only points read from the store carry it. */
  storedAt?: number;
  /** When this client got it, ms (the client's clock). */
  arrivedAt: number;
}

export interface PointBatch {
  /**
   * True for points stored before the source (re)started asking: history on
   * page load, or what was stored while the tab was in the background. Their
   * delays say nothing about the method, so figures leave them out. Points
   * recovered after a dropped connection are not backfill: they were late
   * because of the method, and count.
   */
  backfill: boolean;
}

export type SourceStatus = 'idle' | 'connecting' | 'open' | 'error' | 'stopped';

/** Cumulative counters of one source, across stops and restarts. */
export interface SourceCounters {
  /** Points handed to `onPoints` (updates), backfill included. */
  points: number;
  /** Of `points`, the backfilled ones. */
  backfilled: number;
  /** HTTP requests: polls, backfills, and the handshakes of SSE streams and WebSockets. */
  requests: number;
  /** HTTP responses that carried a series page (polls and backfills). */
  responses: number;
  /** Of `responses`, those without a single point. */
  emptyResponses: number;
  /** Pushed messages: SSE events, MQTT PUBLISH packets. */
  messages: number;
  /** Bytes received, HTTP headers and framing included, as near as the platform can tell (bytes.ts). */
  bytes: number;
  /** Of `bytes`, those of backfill requests, so per-update figures can leave the history load out. */
  backfillBytes: number;
  /** Failed requests, lost connections, payloads that did not parse. */
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

/** A delivery method for one device's metric. */
export interface Source {
  /**
   * Starts delivering. After `stop()` it resumes: it first backfills what was
   * stored since its last cursor or sequence number, then continues, so the
   * series has neither a gap nor a duplicate.
   */
  start(): void;
  /** Closes connections and timers; `start()` may follow. */
  stop(): void;
  readonly status: SourceStatus;
  /** A snapshot; counting continues after it is read. */
  readonly counters: Readonly<SourceCounters>;
}

export type SourceFactory = (target: SourceTarget, handlers: SourceHandlers) => Source;

export function emptyCounters(): SourceCounters {
  return { points: 0, backfilled: 0, requests: 0, responses: 0, emptyResponses: 0, messages: 0, bytes: 0, backfillBytes: 0, errors: 0 };
}

/** Status bookkeeping every source shares: a stopped source reports nothing until started again. */
export class StatusCell {
  value: SourceStatus = 'idle';
  constructor(private readonly handlers: SourceHandlers) {}

  set(next: SourceStatus, detail: string): void {
    if (this.value === 'stopped' && next !== 'connecting') return;
    this.value = next;
    this.handlers.onStatus?.(next, detail);
  }

  get running(): boolean {
    return this.value !== 'idle' && this.value !== 'stopped';
  }
}

/** Counts points and hands them over; every source delivers through this, so `points` means the same everywhere. */
export function deliver(handlers: SourceHandlers, counters: SourceCounters, points: SourcePoint[], backfill: boolean): void {
  if (points.length === 0) return;
  counters.points += points.length;
  if (backfill) counters.backfilled += points.length;
  handlers.onPoints(points, { backfill });
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
