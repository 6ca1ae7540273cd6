// The one place that reads the environment (STYLE.md §10). Everything below
// main.ts receives the frozen Config; nothing else touches process.env.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from './errors.js';

export type StoreKind = 'sqlite';
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
}

/** Built dashboard bundle, next to the compiled gateway: dist/broker/config.js -> dist/dashboard. */
const BUNDLED_DASHBOARD = fileURLToPath(new URL('../dashboard/', import.meta.url));

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
} satisfies Record<string, string>);

export type EnvName = keyof typeof DEFAULTS;
export type Env = Partial<Record<EnvName, string | undefined>> & Record<string, string | undefined>;

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const STORES: readonly StoreKind[] = ['sqlite'];
const SWITCH: Record<string, boolean> = { on: true, off: false, true: true, false: false, '1': true, '0': false, yes: true, no: false };

class Reader {
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

/** Parses and validates the whole environment, reporting every problem at once. */
export function loadConfig(env: Env = {}): Readonly<Config> {
  const r = new Reader(env);
  const dataDir = path.resolve(r.raw('DATA_DIR'));
  const sqlitePath = r.raw('SQLITE_PATH').replace(/^\$DATA_DIR(?=\/|$)/, dataDir);
  const config: Config = {
    host: r.raw('HOST'),
    mqttPort: r.int('MQTT_PORT', 0, 65535),
    httpPort: r.int('HTTP_PORT', 0, 65535),
    store: r.oneOf('STORE', STORES),
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
  };
  if (config.mqttPort !== 0 && config.mqttPort === config.httpPort) {
    r.problems.push(`MQTT_PORT and HTTP_PORT are both ${config.mqttPort}`);
  }
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return Object.freeze(config);
}
