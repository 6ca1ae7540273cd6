// The one place that reads the environment (STYLE.md §10). Everything below
// main.ts receives the frozen Config; nothing else touches process.env.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_NODE_ID, readCluster, type BrokerPersistence } from './config-cluster.js';
import { ConfigError } from './errors.js';

export type { BrokerPersistence } from './config-cluster.js';

export type StoreKind = 'sqlite' | 'influxdb';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  host: string;
  mqttPort: number;
  httpPort: number;
  store: StoreKind;
  dataDir: string;
  sqlitePath: string;
  dashboardDir: string;
  logLevel: LogLevel;
  demo: boolean;
  demoDevices: number;
  demoRate: number;
  ingestBatchSize: number;
  ingestFlushMs: number;
  maxReadingBytes: number;
  maxClockSkewMs: number;
  maxLongPolls: number;
  maxStreams: number;
  sseHeartbeatMs: number;
  auth: boolean;
  adminToken: string | null;
  tokenTtlMs: number;
  tokenSecret: string | null;
  maxPacketBytes: number;
  publishRate: number;
  publishBurst: number;
  connectRateTotal: number;
  connectRatePerClient: number;
  maxConnections: number;
  maxSubscriptions: number;
  maxTopicLength: number;
  maxTopicLevels: number;
  flapMaxConnects: number;
  flapWindowMs: number;
  flapBanMs: number;
  slowSubscriberBytes: number;
  drainTimeoutMs: number;
  tlsCert: string | null;
  tlsKey: string | null;
  mqttsPort: number;
  allowedOrigins: readonly string[];
  httpRate: number;
  maxInFlightMessages: number;
  shedAfterMs: number;
  memoryLimitBytes: number;
  influx: InfluxConfig;
  spoolDir: string;
  spoolMaxBytes: number;
  ingestMaxQueued: number;
  storeRetryMs: number;
  storeRetryMaxMs: number;
  /** Set: clustered broker (mqemitter-redis + aedes-persistence-redis); null: a single node. */
  redisUrl: string | null;
  /** This gateway's name among the writers of one InfluxDB database (the `node` tag). */
  nodeId: string;
  brokerPersistence: BrokerPersistence;
  /** The on-disk broker persistence (`level`): $DATA_DIR/broker. */
  brokerDir: string;
}

export interface InfluxConfig {
  url: string;
  database: string;
  username: string | null;
  password: string | null;
  /** Duration of the gateway's retention policy (e.g. `30d`); null writes to the database's default policy. */
  retention: string | null;
  timeoutMs: number;
}

/**
 * The built dashboard: next to the compiled gateway (dist/broker/config.js ->
 * dist/dashboard), and in dist/ too when the gateway runs from source (tsx).
 */
const BUNDLED_DASHBOARD = fileURLToPath(
  new URL(import.meta.url.includes('/dist/broker/') ? '../dashboard/' : '../dist/dashboard/', import.meta.url),
);

export const DEFAULTS = Object.freeze({
  HOST: '127.0.0.1',
  MQTT_PORT: '1883',
  HTTP_PORT: '8080',
  STORE: 'sqlite',
  DATA_DIR: './data',
  SQLITE_PATH: '$DATA_DIR/telemetry.db',
  DASHBOARD_DIR: BUNDLED_DASHBOARD,
  LOG_LEVEL: 'info',
  DEMO: 'on',
  DEMO_DEVICES: '10',
  DEMO_RATE: '1',
  INGEST_BATCH_SIZE: '500',
  INGEST_FLUSH_MS: '50',
  MAX_READING_BYTES: '16384',
  MAX_CLOCK_SKEW_MS: '300000',
  MAX_LONG_POLLS: '1000',
  MAX_SSE_STREAMS: '1000',
  SSE_HEARTBEAT_MS: '15000',
  AUTH: 'on',
  ADMIN_TOKEN: '',
  TOKEN_TTL_S: '900',
  TOKEN_SECRET: '',
  MAX_PACKET_BYTES: '131072',
  PUBLISH_RATE: '100',
  PUBLISH_BURST: '100',
  CONNECT_RATE_TOTAL: '1000',
  CONNECT_RATE_PER_CLIENT: '1',
  MAX_CONNECTIONS: '100000',
  MAX_SUBSCRIPTIONS: '50',
  MAX_TOPIC_LENGTH: '256',
  MAX_TOPIC_LEVELS: '8',
  FLAP_MAX_CONNECTS: '15',
  FLAP_WINDOW_MS: '60000',
  FLAP_BAN_MS: '60000',
  SLOW_SUBSCRIBER_BYTES: '262144',
  DRAIN_TIMEOUT_MS: '10000',
  TLS_CERT: '',
  TLS_KEY: '',
  MQTTS_PORT: '8883',
  ALLOWED_ORIGINS: '',
  HTTP_RATE: '200',
  MAX_INFLIGHT_MESSAGES: '5000',
  SHED_AFTER_MS: '100',
  MEMORY_LIMIT_MB: '1024',
  INFLUX_URL: 'http://localhost:8086',
  INFLUX_DATABASE: 'telemetry',
  INFLUX_USERNAME: '',
  INFLUX_PASSWORD: '',
  INFLUX_RETENTION: '',
  INFLUX_TIMEOUT_MS: '5000',
  SPOOL_DIR: '$DATA_DIR/spool',
  SPOOL_MAX_BYTES: '1073741824',
  INGEST_MAX_QUEUED: '100000',
  STORE_RETRY_MS: '100',
  STORE_RETRY_MAX_MS: '10000',
  REDIS_URL: '',
  NODE_ID: DEFAULT_NODE_ID,
  BROKER_PERSISTENCE: '',
} satisfies Record<string, string>);

export type EnvName = keyof typeof DEFAULTS;
export type Env = Partial<Record<EnvName, string | undefined>> & Record<string, string | undefined>;

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const STORES: readonly StoreKind[] = ['sqlite', 'influxdb'];
const SWITCH: Record<string, boolean> = { on: true, off: false, true: true, false: false, '1': true, '0': false, yes: true, no: false };

export class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  raw(name: EnvName): string {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? DEFAULTS[name] : value.trim();
  }

  int(name: EnvName, min: number, max: number): number {
    const text = this.raw(name);
    const value = Number(text);
    if (!/^-?\d+$/.test(text) || value < min || value > max) {
      this.problems.push(`${name}=${JSON.stringify(text)}: expected an integer from ${min} to ${max}`);
      return Number(DEFAULTS[name]);
    }
    return value;
  }

  number(name: EnvName, min: number, max: number): number {
    const text = this.raw(name);
    const value = Number(text);
    if (text === '' || !Number.isFinite(value) || value < min || value > max) {
      this.problems.push(`${name}=${JSON.stringify(text)}: expected a number from ${min} to ${max}`);
      return Number(DEFAULTS[name]);
    }
    return value;
  }

  oneOf<T extends string>(name: EnvName, allowed: readonly T[]): T {
    const text = this.raw(name).toLowerCase();
    if (!(allowed as readonly string[]).includes(text)) {
      this.problems.push(`${name}=${JSON.stringify(text)}: expected one of ${allowed.join(', ')}`);
      return DEFAULTS[name] as T;
    }
    return text as T;
  }

  /** Unset or empty means null: a feature that is off until configured. */
  optional(name: EnvName): string | null {
    const value = this.raw(name);
    return value === '' ? null : value;
  }

  list(name: EnvName): string[] {
    return this.raw(name).split(',').map((item) => item.trim()).filter(Boolean);
  }

  switch(name: EnvName): boolean {
    const text = this.raw(name).toLowerCase();
    const value = SWITCH[text];
    if (value === undefined) {
      this.problems.push(`${name}=${JSON.stringify(text)}: expected on or off`);
      return SWITCH[DEFAULTS[name]]!;
    }
    return value;
  }
}

/** InfluxDB accepts retention durations of at least one hour; INF (or empty) means keep forever. */
const RETENTION_PATTERN = /^[1-9]\d*[hdw]$/;
const DATABASE_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

function readInflux(r: Reader): InfluxConfig {
  const url = r.raw('INFLUX_URL');
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {
    // reported below
  }
  if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || parsed.username || parsed.search) {
    r.problems.push(`INFLUX_URL=${JSON.stringify(url)}: expected http(s)://host:port without credentials or query`);
  }
  const database = r.raw('INFLUX_DATABASE');
  if (!DATABASE_PATTERN.test(database)) {
    r.problems.push(`INFLUX_DATABASE=${JSON.stringify(database)}: expected 1-64 characters of A-Z a-z 0-9 _ -`);
  }
  const username = r.optional('INFLUX_USERNAME');
  const password = r.optional('INFLUX_PASSWORD');
  if (password !== null && username === null) r.problems.push('INFLUX_PASSWORD is set but INFLUX_USERNAME is not');
  const retentionText = r.raw('INFLUX_RETENTION').toLowerCase();
  const retention = retentionText === '' || retentionText === 'inf' ? null : retentionText;
  if (retention !== null && !RETENTION_PATTERN.test(retention)) {
    r.problems.push(`INFLUX_RETENTION=${JSON.stringify(retentionText)}: expected INF or a duration of whole hours, days or weeks (e.g. 30d)`);
  }
  return { url, database, username, password, retention, timeoutMs: r.int('INFLUX_TIMEOUT_MS', 100, 600_000) };
}

/** Parses and validates the whole environment, reporting every problem at once. */
export function loadConfig(env: Env = {}): Readonly<Config> {
  const r = new Reader(env);
  const dataDir = path.resolve(r.raw('DATA_DIR'));
  const sqlitePath = r.raw('SQLITE_PATH').replace(/^\$DATA_DIR(?=\/|$)/, dataDir);
  const spoolDir = r.raw('SPOOL_DIR').replace(/^\$DATA_DIR(?=\/|$)/, dataDir);
  const store = r.oneOf('STORE', STORES);
  const config: Config = {
    host: r.raw('HOST'),
    mqttPort: r.int('MQTT_PORT', 0, 65535),
    httpPort: r.int('HTTP_PORT', 0, 65535),
    store,
    dataDir,
    sqlitePath: sqlitePath === ':memory:' ? sqlitePath : path.resolve(sqlitePath),
    dashboardDir: path.resolve(r.raw('DASHBOARD_DIR')),
    logLevel: r.oneOf('LOG_LEVEL', LOG_LEVELS),
    demo: r.switch('DEMO'),
    demoDevices: r.int('DEMO_DEVICES', 1, 100_000),
    demoRate: r.number('DEMO_RATE', 0.001, 1000),
    ingestBatchSize: r.int('INGEST_BATCH_SIZE', 1, 100_000),
    ingestFlushMs: r.int('INGEST_FLUSH_MS', 1, 60_000),
    maxReadingBytes: r.int('MAX_READING_BYTES', 64, 1_048_576),
    maxClockSkewMs: r.int('MAX_CLOCK_SKEW_MS', 0, 86_400_000),
    maxLongPolls: r.int('MAX_LONG_POLLS', 0, 1_000_000),
    maxStreams: r.int('MAX_SSE_STREAMS', 0, 1_000_000),
    sseHeartbeatMs: r.int('SSE_HEARTBEAT_MS', 100, 3_600_000),
    auth: r.switch('AUTH'),
    adminToken: r.optional('ADMIN_TOKEN'),
    tokenTtlMs: r.int('TOKEN_TTL_S', 10, 86_400) * 1000,
    tokenSecret: r.optional('TOKEN_SECRET'),
    maxPacketBytes: r.int('MAX_PACKET_BYTES', 1024, 268_435_455),
    publishRate: r.number('PUBLISH_RATE', 0.1, 1_000_000),
    publishBurst: r.int('PUBLISH_BURST', 1, 1_000_000),
    connectRateTotal: r.number('CONNECT_RATE_TOTAL', 1, 1_000_000),
    connectRatePerClient: r.number('CONNECT_RATE_PER_CLIENT', 0.01, 1_000),
    maxConnections: r.int('MAX_CONNECTIONS', 1, 10_000_000),
    maxSubscriptions: r.int('MAX_SUBSCRIPTIONS', 1, 100_000),
    maxTopicLength: r.int('MAX_TOPIC_LENGTH', 16, 65_535),
    maxTopicLevels: r.int('MAX_TOPIC_LEVELS', 4, 100),
    flapMaxConnects: r.int('FLAP_MAX_CONNECTS', 1, 1_000_000),
    flapWindowMs: r.int('FLAP_WINDOW_MS', 1_000, 86_400_000),
    flapBanMs: r.int('FLAP_BAN_MS', 0, 86_400_000),
    slowSubscriberBytes: r.int('SLOW_SUBSCRIBER_BYTES', 16_384, 1_073_741_824),
    drainTimeoutMs: r.int('DRAIN_TIMEOUT_MS', 100, 600_000),
    tlsCert: r.optional('TLS_CERT'),
    tlsKey: r.optional('TLS_KEY'),
    mqttsPort: r.int('MQTTS_PORT', 0, 65535),
    allowedOrigins: r.list('ALLOWED_ORIGINS'),
    httpRate: r.number('HTTP_RATE', 1, 1_000_000),
    maxInFlightMessages: r.int('MAX_INFLIGHT_MESSAGES', 100, 10_000_000),
    shedAfterMs: r.int('SHED_AFTER_MS', 1, 60_000),
    memoryLimitBytes: r.int('MEMORY_LIMIT_MB', 64, 1_048_576) * 2 ** 20,
    influx: Object.freeze(readInflux(r)),
    spoolDir: path.resolve(spoolDir),
    spoolMaxBytes: r.int('SPOOL_MAX_BYTES', 1_048_576, Number.MAX_SAFE_INTEGER),
    ingestMaxQueued: r.int('INGEST_MAX_QUEUED', 1, 10_000_000),
    storeRetryMs: r.int('STORE_RETRY_MS', 1, 60_000),
    storeRetryMaxMs: r.int('STORE_RETRY_MAX_MS', 1, 3_600_000),
    ...readCluster(r, dataDir, store),
  };
  if ((config.tlsCert === null) !== (config.tlsKey === null)) r.problems.push('TLS_CERT and TLS_KEY must be set together');
  for (const file of [config.tlsCert, config.tlsKey]) {
    if (file !== null && !fs.existsSync(file)) r.problems.push(`${file}: no such file (TLS_CERT / TLS_KEY)`);
  }
  for (const origin of config.allowedOrigins) {
    if (!/^https?:\/\/[^/]+$/.test(origin)) r.problems.push(`ALLOWED_ORIGINS: ${JSON.stringify(origin)} is not an origin like https://example.com`);
  }
  if (config.mqttPort !== 0 && config.mqttPort === config.httpPort) {
    r.problems.push(`MQTT_PORT and HTTP_PORT are both ${config.mqttPort}`);
  }
  if (config.storeRetryMaxMs < config.storeRetryMs) {
    r.problems.push(`STORE_RETRY_MAX_MS (${config.storeRetryMaxMs}) is below STORE_RETRY_MS (${config.storeRetryMs})`);
  }
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return Object.freeze(config);
}
