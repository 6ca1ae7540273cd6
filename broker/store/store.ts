// The one storage interface (DESIGN.md §2 "Store interface"); SQLite is the
// embedded default. Every implementation must pass test/store/contract.ts.
import type { Reading } from '../contract/telemetry.js';

/** One stored value: [ts, value, seq, receivedAt, storedAt], all times in ms since the epoch. */
export type SeriesPoint = [ts: number, value: number, seq: number | null, receivedAt: number, storedAt: number];

/** One history bucket: [bucket start, avg, min, max, count]. */
export type HistoryBucket = [t: number, avg: number, min: number, max: number, count: number];

export interface DeviceSummary {
  id: string;
  firstSeen: number;
  /** Receive time of the newest stored reading. */
  lastSeen: number;
  metrics: string[];
}

export interface SeriesQuery {
  deviceId: string;
  metric: string;
  /**
   * Opaque cursor from a previous answer: only points stored after it are returned.
   * Absent: the newest `limit` points.
   */
  after?: string;
  limit: number;
}

export interface SeriesPage {
  /** Points in storage order (ascending cursor). */
  points: SeriesPoint[];
  /** The cursor just after each point (same length as `points`), for per-point resume such as SSE ids. */
  cursors: string[];
  /** Pass back as `after` to continue without gap or duplicate. */
  cursor: string;
}

export interface HistoryQuery {
  deviceId: string;
  metric: string;
  from: number;
  to: number;
  stepMs: number;
}

/** What a committed batch touched, so waiters on those series can be woken. */
export interface WriteResult {
  storedAt: number;
  series: Array<{ deviceId: string; metric: string }>;
}

export interface TelemetryStore {
  readonly kind: string;
  /** Writes a batch atomically: all readings are stored or none (and the call rejects). */
  writeBatch(readings: readonly Reading[]): Promise<WriteResult>;
  listDevices(): Promise<DeviceSummary[]>;
  getDevice(deviceId: string): Promise<DeviceSummary | null>;
  /** `null` when the device has no such metric. Rejects with BadCursorError for a malformed cursor. */
  querySeries(query: SeriesQuery): Promise<SeriesPage | null>;
  /** `null` when the device has no such metric. */
  queryHistory(query: HistoryQuery): Promise<HistoryBucket[] | null>;
  /** Resolves when the store can serve; used by /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
