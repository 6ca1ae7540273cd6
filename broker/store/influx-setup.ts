// Connection and one-time setup of the InfluxDB store: the client, the
// database, the retention policy, and how InfluxDB's answers and failures map
// onto the gateway's typed errors.
import { InfluxDB, escape } from 'influx';
import type { IBackoffStrategy } from 'influx/lib/src/backoff/backoff.js';
import { RequestError as InfluxRequestError, ServiceNotAvailableError } from 'influx/lib/src/pool.js';
import { ResultError } from 'influx/lib/src/results.js';
import { StoreError } from '../errors.js';
import { schemas } from './influx-points.js';

export interface InfluxConnection {
  url: string;
  database: string;
  username: string | null;
  password: string | null;
  /** Duration of the gateway's own retention policy, e.g. `30d`; null: the database's default policy. */
  retention: string | null;
  timeoutMs: number;
}

/** The retention policy the gateway creates when INFLUX_RETENTION is set. */
export const RETENTION_POLICY = 'gateway';

/**
 * node-influx's pool takes a host out of rotation after a network error, for
 * up to 10 s, on a timer it never unrefs. With one host that turns every
 * request into "No host available" long after InfluxDB is back, and holds the
 * process open after close(). Retrying is the ingest spool's job, so the host
 * is never disabled (a zero delay) and requests are not retried here.
 */
const NEVER_DISABLE: IBackoffStrategy = {
  getDelay: () => 0,
  next: () => NEVER_DISABLE,
  reset: () => NEVER_DISABLE,
};

export function createClient(c: InfluxConnection): InfluxDB {
  const url = new URL(c.url);
  return new InfluxDB({
    host: url.hostname,
    port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
    protocol: url.protocol === 'https:' ? 'https' : 'http',
    path: url.pathname === '/' ? '' : url.pathname,
    database: c.database,
    username: c.username ?? undefined,
    password: c.password ?? undefined,
    schema: schemas(c.database),
    pool: { maxRetries: 0, requestTimeout: c.timeoutMs, backoff: NEVER_DISABLE },
  });
}

/**
 * Whether the same request may succeed later: InfluxDB down or overloaded,
 * database dropped, credentials not yet granted. A statement that failed as
 * it ran (answered with 200 and an error in its result, a ResultError here)
 * counts too: "query engine shutdown" while InfluxDB stops, a limit an
 * operator set (max-select-series, query-timeout). The write path runs
 * queries too, and a batch refused for good is dropped, its devices left
 * without PUBACK: a CI run dropped 89 readings so, to an influxd stopping. A
 * query InfluxDB cannot parse is a 400 (InfluxRequestError), refused.
 */
export function isRetriableInfluxError(err: unknown): boolean {
  if (err instanceof StoreError) return err.retriable;
  if (err instanceof ResultError) return true;
  if (err instanceof InfluxRequestError) return [401, 403, 404, 408, 429].includes(err.res.statusCode ?? 0);
  if (err instanceof ServiceNotAvailableError) return true;
  // Node's network errors (ECONNREFUSED, ECONNRESET, ETIMEDOUT, EPIPE, ENOTFOUND…) carry a code.
  return typeof (err as { code?: unknown }).code === 'string';
}

export function toStoreError(err: unknown, what: string): StoreError {
  if (err instanceof StoreError) return err;
  return new StoreError(`influxdb ${what} failed: ${(err as Error).message}`, isRetriableInfluxError(err), { cause: err });
}

/** "720h0m0s" (InfluxDB's rendering of a policy duration) in ms; 0 means infinite. */
export function parseGoDuration(text: string): number {
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (!match) throw new StoreError(`unexpected retention duration ${JSON.stringify(text)}`, false);
  const [, h = '0', m = '0', s = '0'] = match;
  return ((Number(h) * 60 + Number(m)) * 60 + Number(s)) * 1000;
}

/** `30d` / `12h` / `2w` in ms. */
export function retentionMs(duration: string): number {
  const n = Number(duration.slice(0, -1));
  const unit = { h: 3_600_000, d: 86_400_000, w: 604_800_000 }[duration.slice(-1)];
  if (!unit || !Number.isInteger(n)) throw new StoreError(`bad retention ${JSON.stringify(duration)}`, false);
  return n * unit;
}

export interface Setup {
  /** The policy to name in writes and queries (undefined: the database's default). */
  retentionPolicy: string | undefined;
  /** How long the policy keeps data, ms; 0 for ever. */
  keepMs: number;
  /**
   * Span of the policy's shard groups, ms (0: unknown). InfluxDB applies one
   * write request to each shard at once, so a batch whose points all fall in
   * one group is written all or nothing (influx.ts, writeBatch).
   */
  shardGroupMs: number;
  /** `"db"."rp".` — prefix for measurement names in InfluxQL. */
  prefix: string;
}

/**
 * Creates the database when missing and, with a configured retention, the
 * gateway's policy (altered when its duration changed). InfluxDB 2.x/3.x
 * cannot create databases over the v1 API: there the bucket and its DBRP
 * mapping must exist, and both statements are skipped when they do.
 */
export async function setUp(influx: InfluxDB, c: InfluxConnection): Promise<Setup> {
  const names = await influx.getDatabaseNames();
  if (!names.includes(c.database)) await influx.createDatabase(c.database);
  let policies = await influx.showRetentionPolicies(c.database);
  let keepMs: number;
  if (c.retention !== null) {
    keepMs = retentionMs(c.retention);
    const existing = policies.find((p) => p.name === RETENTION_POLICY);
    const options = { database: c.database, duration: c.retention, replication: 1 };
    if (!existing) await influx.createRetentionPolicy(RETENTION_POLICY, options);
    else if (parseGoDuration(existing.duration) !== keepMs) await influx.alterRetentionPolicy(RETENTION_POLICY, options);
    if (!existing || parseGoDuration(existing.duration) !== keepMs) policies = await influx.showRetentionPolicies(c.database);
  } else {
    const fallback = policies.find((p) => p.default);
    keepMs = fallback ? parseGoDuration(fallback.duration) : 0;
  }
  const retentionPolicy = c.retention === null ? undefined : RETENTION_POLICY;
  const prefix = `${escape.quoted(c.database)}.${retentionPolicy ? escape.quoted(retentionPolicy) : ''}.`;
  const used = policies.find((p) => (retentionPolicy ? p.name === retentionPolicy : p.default));
  const shardGroupMs = used?.shardGroupDuration ? parseGoDuration(used.shardGroupDuration) : 0;
  return { retentionPolicy, keepMs, prefix, shardGroupMs };
}

/** Whether all points (ns times) fall in one shard group of the policy, aligned to the epoch as InfluxDB aligns them. */
export function inOneShardGroup(setup: Setup, points: ReadonlyArray<{ timestamp?: unknown }>): boolean {
  if (setup.shardGroupMs <= 0) return false;
  return new Set(points.map((p) => Math.floor(Number(p.timestamp) / 1e6 / setup.shardGroupMs))).size <= 1;
}
