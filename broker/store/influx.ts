// The InfluxDB store, over InfluxDB's v1 HTTP API with the `influx` client:
// line-protocol writes, InfluxQL reads. Works against InfluxDB 1.x and against
// 2.x/3.x through their v1 compatibility endpoints. The mapping of readings to
// measurements is in influx-points.ts.
//
// Cursor semantics (the same as SQLite's: pass back the cursor, get every
// point stored since, exactly once). InfluxDB has no row ids and no
// transactions, so a point's position is its time in `points`, which each
// gateway assigns itself as a storage sequence (StorageClock) and tags with
// its `node` id; the cursor holds one position per node (influx-cursor.ts).
// "time > position" is exact per node because of four rules:
//   1. A node's times grow in its commit order. The ingest path has one batch
//      in flight, and a failed batch is retried before any later one (the
//      spool keeps order), so no point is committed with a time below one
//      the same node committed before. Other nodes' clocks do not matter:
//      their points are paged by their own positions.
//   2. A node's readers see its own batches only once they are acknowledged:
//      its reads of its own points are bounded by `time <= committed`, the
//      last time of its last acknowledged write. A failed write may be half
//      applied; a reader that saw part of it could step past points that
//      appear later.
//   3. Readers of other nodes' points cannot know those acknowledgements.
//      They rely on InfluxDB applying one request to a shard at once, so the
//      points of one series from one batch become visible together, field by
//      field: a row with a field still missing ends a node's page there. The
//      one gap left: a batch whose points straddle a shard-group boundary and
//      fail on the later shard only.
//   4. A retried batch keeps its times and its points. A write whose answer
//      was lost may have been applied; writing it again with the same times
//      overwrites the same points (InfluxDB identifies a point by series and
//      time), so a retry never duplicates. The store knows a retry by its
//      content (the spool writer retries a failed batch alone, exactly as it
//      was). The first batch after a restart starts above the newest time in
//      the database.
// Readings that come again (a retransmission after a crash, on this gateway
// or another) are left out before writing: influx-dedup.ts.
import type { InfluxDB } from 'influx';
import type { Reading } from '../contract/telemetry.js';
import { StoreError } from '../errors.js';
import type {
  DeviceSummary, HistoryBucket, HistoryQuery, SeriesPage, SeriesQuery, TelemetryStore, WriteResult,
} from './store.js';
import { mergeAfter, mergeNewest, parseCursor, type NodeRow } from './influx-cursor.js';
import { duplicateQueries, freshReadings, storedKeys } from './influx-dedup.js';
import { HISTORY, POINTS, StorageClock, pointCount, toPoints } from './influx-points.js';
import { createClient, inOneShardGroup, setUp, toStoreError, type InfluxConnection, type Setup } from './influx-setup.js';

export interface InfluxStoreOptions extends InfluxConnection {
  /** This gateway's `node` tag (NODE_ID): unique among the gateways writing the database. */
  node: string;
  now?: () => number;
}

interface RawSeries {
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}
interface RawResult {
  series?: RawSeries[];
  error?: string;
}
type Row = Record<string, number | null>;

/** History points older than the retention window, with this margin, are not written (InfluxDB would refuse them). */
const RETENTION_MARGIN_MS = 60_000;
/** Fields every `points` row has once its batch is fully visible (rule 3); `seq` may be absent. */
const REQUIRED = ['value', 'ts', 'received_at', 'stored_at'] as const;

function rows(series: RawSeries): Row[] {
  return series.values.map((values) => Object.fromEntries(series.columns.map((c, i) => [c, values[i] as number | null])));
}

/** Device ids, metric names and node ids are validated patterns; they are escaped anyway. */
function str(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Node ids are `[A-Za-z0-9_.-]`: only the dot is special in a regex. */
function escapeRegex(node: string): string {
  return node.replace(/\./g, '\\.');
}

/** A node's rows in time order, up to the first one with a field still missing (rule 3). */
function visible(found: Row[]): Row[] {
  const end = found.findIndex((r) => REQUIRED.some((field) => r[field] === null || r[field] === undefined));
  return end === -1 ? found : found.slice(0, end);
}

interface Plan {
  fresh: Reading[];
  first: number;
}

export class InfluxStore implements TelemetryStore {
  readonly kind = 'influxdb';
  private readonly influx: InfluxDB;
  private readonly now: () => number;
  private readonly clock: StorageClock;
  private setup: Promise<Setup> | null = null;
  /** Time of the last point of this node's last acknowledged write: its own points are read up to here (rule 2). */
  private committed = 0;
  /** The last failed batch, and the readings and times it was written with, reused when it comes back (rule 4). */
  private failed: { key: string; plan: Plan } | null = null;
  /** Series known to have points, so an empty page need not ask whether the series exists. */
  private readonly known = new Set<string>();
  private closed = false;

  constructor(private readonly opts: InfluxStoreOptions) {
    this.now = opts.now ?? Date.now;
    this.clock = new StorageClock(this.now);
    this.influx = createClient(opts);
  }

  /** Database, policy and high-water mark, once; retried on the next call after a failure. */
  private ready(): Promise<Setup> {
    if (this.closed) return Promise.reject(new StoreError('influxdb store is closed', false));
    this.setup ??= (async () => {
      const setup = await setUp(this.influx, this.opts);
      const [newest] = await this.raw(setup, `SELECT "value" FROM ${setup.prefix}${POINTS} ORDER BY time DESC LIMIT 1`, 'u');
      // Above every node's newest point, not only this node's: a restarted node never reuses a time.
      const time = Number(newest?.series?.[0]?.values[0]?.[0] ?? 0);
      this.clock.advancePast(time);
      this.committed = Math.max(this.committed, time);
      return setup;
    })().catch((err: unknown) => {
      this.setup = null;
      throw toStoreError(err, 'setup');
    });
    return this.setup;
  }

  private async raw(setup: Setup, query: string | string[], epoch: 'u' | 'ms'): Promise<RawResult[]> {
    let answer: { results: RawResult[] };
    try {
      answer = await this.influx.queryRaw(query, { precision: epoch, retentionPolicy: setup.retentionPolicy });
    } catch (err) {
      throw toStoreError(err, 'query');
    }
    const failed = answer.results.find((r) => r.error);
    if (failed) {
      // The database was dropped under us (or InfluxDB came back empty): set it up again next time.
      if (/database not found/.test(failed.error!)) this.setup = null;
      // A statement that failed as it ran: retriable (isRetriableInfluxError, ResultError).
      throw new StoreError(`influxdb query failed: ${failed.error}`, true);
    }
    return answer.results;
  }

  private async write(setup: Setup, points: Parameters<InfluxDB['writePoints']>[0], what: string): Promise<void> {
    if (points.length === 0) return;
    try {
      await this.influx.writePoints(points, { precision: 'n', retentionPolicy: setup.retentionPolicy });
    } catch (err) {
      const error = toStoreError(err, what);
      if (/database not found/.test(error.message)) this.setup = null;
      throw error;
    }
  }

  /** The batch without the readings already stored, by this or any node (influx-dedup.ts). */
  private async fresh(setup: Setup, readings: readonly Reading[], cutoff: number): Promise<Reading[]> {
    const queries = duplicateQueries(readings, setup.prefix, cutoff);
    if (queries.length === 0) return [...readings];
    return freshReadings(readings, storedKeys(await this.raw(setup, queries, 'ms')));
  }

  async writeBatch(readings: readonly Reading[]): Promise<WriteResult> {
    const setup = await this.ready();
    const storedAt = this.now();
    const cutoff = setup.keepMs > 0 ? storedAt - setup.keepMs + RETENTION_MARGIN_MS : 0;
    const key = this.failed ? JSON.stringify(readings) : '';
    let plan = this.failed?.key === key ? this.failed.plan : null;
    if (!plan) {
      const fresh = await this.fresh(setup, readings, cutoff);
      plan = { fresh, first: this.clock.take(pointCount(fresh)) };
    }
    const { points, marks, series } = toPoints(plan.fresh, plan.first, storedAt, cutoff, this.opts.node);
    try {
      // A `seen` point marks its reading as stored (influx-dedup.ts), so it must never be there without
      // its `points` entries: one request when InfluxDB applies it at once, else `points` first.
      if (inOneShardGroup(setup, [...points, ...marks])) {
        await this.write(setup, [...points, ...marks], `write of ${readings.length} readings`);
      } else {
        await this.write(setup, points, `write of ${readings.length} readings`);
        await this.write(setup, marks, `history write of ${readings.length} readings`);
      }
    } catch (err) {
      this.failed = { key: key || JSON.stringify(readings), plan };
      throw err;
    }
    this.failed = null;
    if (points.length > 0) this.committed = Math.max(this.committed, plan.first + points.length - 1);
    for (const s of series) this.known.add(`${s.deviceId}\u0000${s.metric}`);
    return { storedAt, series };
  }

  /** Whether the series has points: decides between an empty page and `null` (unknown series). */
  private async exists(setup: Setup, deviceId: string, metric: string): Promise<boolean> {
    const key = `${deviceId}\u0000${metric}`;
    if (this.known.has(key)) return true;
    const [result] = await this.raw(setup,
      `SELECT "value" FROM ${setup.prefix}${POINTS} WHERE "device" = ${str(deviceId)} AND "metric" = ${str(metric)} LIMIT 1`, 'u');
    const found = (result?.series?.length ?? 0) > 0;
    if (found) this.known.add(key);
    return found;
  }

  async querySeries(q: SeriesQuery): Promise<SeriesPage | null> {
    const positions = q.after === undefined ? null : parseCursor(q.after);
    const setup = await this.ready();
    const self = this.opts.node;
    const select = (where: string, extra = '') => `SELECT "value", "ts", "seq", "received_at", "stored_at" FROM ${setup.prefix}${POINTS}
      WHERE "device" = ${str(q.deviceId)} AND "metric" = ${str(q.metric)} AND ${where}${extra}
      ORDER BY time ${positions ? 'ASC' : 'DESC'} LIMIT ${q.limit}`;
    const bound = (node: string) => (node === self ? ` AND time <= ${this.committed}u` : '');
    // One statement per node the cursor names (and this one), from its position; one for every
    // other node, from the start (the cursor says none of their points was delivered yet).
    const named = [...new Set([self, ...(positions?.keys() ?? [])])];
    const statements = named.map((node) => select(`"node" = ${str(node)}`, `${bound(node)}${positions?.get(node) ? ` AND time > ${positions.get(node)}u` : ''}`));
    statements.push(select(`"node" !~ /^(?:${named.map(escapeRegex).join('|')})$/`, ' GROUP BY "node"'));
    const results = await this.raw(setup, statements, 'u');
    const found: NodeRow<Row>[] = [];
    const floors = new Map<string, number>();
    results.forEach((result, i) => {
      for (const series of result.series ?? []) {
        const node = named[i] ?? series.tags?.node ?? '';
        const all = rows(series).sort((a, b) => a.time! - b.time!);
        if (all.length > 0) floors.set(node, all[0]!.time! - 1);
        for (const row of visible(all)) found.push({ node, time: row.time!, row });
      }
    });
    const page = positions ? mergeAfter(positions, found, q.limit) : mergeNewest(found, q.limit, floors);
    if (page.rows.length === 0 && !(await this.exists(setup, q.deviceId, q.metric))) return null;
    return {
      points: page.rows.map((r) => [r.ts!, r.value!, r.seq ?? null, r.received_at!, r.stored_at!]),
      cursors: page.cursors,
      cursor: page.cursor,
    };
  }

  async queryHistory(q: HistoryQuery): Promise<HistoryBucket[] | null> {
    const setup = await this.ready();
    // GROUP BY time() buckets start at multiples of the step since the epoch, as SQLite's `ts - ts % step`.
    const [result] = await this.raw(setup,
      `SELECT mean("value"), min("value"), max("value"), count("value") FROM ${setup.prefix}${HISTORY}
       WHERE "device" = ${str(q.deviceId)} AND "metric" = ${str(q.metric)} AND time >= ${q.from}ms AND time < ${q.to}ms
       GROUP BY time(${q.stepMs}ms) fill(none)`, 'ms');
    const buckets = result?.series?.[0] ? rows(result.series[0]) : [];
    if (buckets.length === 0 && !(await this.exists(setup, q.deviceId, q.metric))) return null;
    return buckets.map((b) => [b.time!, b.mean!, b.min!, b.max!, b.count!]);
  }

  async listDevices(): Promise<DeviceSummary[]> {
    return this.devices(null);
  }

  async getDevice(deviceId: string): Promise<DeviceSummary | null> {
    return (await this.devices(deviceId))[0] ?? null;
  }

  /**
   * Devices from the first and the newest point of each series, whichever
   * node wrote them: InfluxDB answers `LIMIT 1` per group from the ends of
   * each series, without scanning them. First seen is the first point still retained.
   */
  private async devices(deviceId: string | null): Promise<DeviceSummary[]> {
    const setup = await this.ready();
    const from = `FROM ${setup.prefix}${POINTS}${deviceId === null ? '' : ` WHERE "device" = ${str(deviceId)}`}`;
    const [newest, oldest] = await this.raw(setup, [
      `SELECT "received_at" ${from} GROUP BY "device", "metric" ORDER BY time DESC LIMIT 1`,
      `SELECT "received_at" ${from} GROUP BY "device" ORDER BY time ASC LIMIT 1`,
    ], 'u');
    const byId = new Map<string, DeviceSummary>();
    for (const s of oldest?.series ?? []) {
      const id = s.tags!.device!;
      byId.set(id, { id, firstSeen: rows(s)[0]!.received_at!, lastSeen: 0, metrics: [] });
    }
    for (const s of newest?.series ?? []) {
      const device = byId.get(s.tags!.device!);
      if (!device) continue;
      device.metrics.push(s.tags!.metric!);
      device.lastSeen = Math.max(device.lastSeen, rows(s)[0]!.received_at!);
    }
    for (const d of byId.values()) d.metrics.sort();
    return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async ping(): Promise<void> {
    await this.ready();
    const [host] = await this.influx.ping(this.opts.timeoutMs);
    if (!host?.online) throw new StoreError('influxdb did not answer /ping', true);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
