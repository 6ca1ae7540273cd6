// What the orchestrator and its load-generator processes say to each other
// over the fork() IPC channel, and the naming both sides derive device
// indexes from. Pure: no I/O here.

/** Milliseconds on a clock every process on this machine shares (wall clock at sub-ms resolution). */
export function clock(): number {
  return performance.timeOrigin + performance.now();
}

export type Transport = 'tcp' | 'ws';
export type Qos = 0 | 1;

/** How one MQTT client logs in: a device (its id as client id and user name) or a watcher. */
export interface Account {
  clientId: string;
  username?: string;
  password?: string;
}

const DEVICE_PREFIX = 'bench-';
const INDEX_DIGITS = 6;

/** Device ids carry their index, so a subscriber can tell from the topic alone whose reading it got. */
export function deviceId(index: number): string {
  return `${DEVICE_PREFIX}${String(index).padStart(INDEX_DIGITS, '0')}`;
}

export function deviceIds(count: number, first = 0): string[] {
  return Array.from({ length: count }, (_, i) => deviceId(first + i));
}

const TOPIC_INDEX_AT = 'devices/'.length + DEVICE_PREFIX.length;

/** The device index in `devices/bench-000123/telemetry`. */
export function topicDeviceIndex(topic: string): number {
  return Number(topic.slice(TOPIC_INDEX_AT, TOPIC_INDEX_AT + INDEX_DIGITS));
}

/** The gateway's telemetry payload (DESIGN.md §2); `ts` must be whole milliseconds. */
export function telemetryPayload(ts: number, seq: number): string {
  return `{"ts":${Math.floor(ts)},"seq":${seq},"metrics":{"temperature":21.5,"humidity":40}}`;
}

/** `seq` of a payload built by telemetryPayload, without a full JSON parse per message. */
export function payloadSeq(payload: string): number {
  const at = payload.indexOf('"seq":') + 6;
  return Number(payload.slice(at, payload.indexOf(',', at)));
}

/** Splits `items` into `parts` runs of near-equal length (none empty unless items are fewer), each with its first index. */
export function split<T>(items: readonly T[], parts: number): { items: T[]; first: number }[] {
  const runs: { items: T[]; first: number }[] = [];
  let first = 0;
  for (let p = 0; p < parts && first < items.length; p++) {
    const size = Math.ceil((items.length - first) / (parts - p));
    runs.push({ items: items.slice(first, first + size), first });
    first += size;
  }
  return runs;
}

export interface PublishRole {
  kind: 'publish';
  url: string;
  /** Devices; each publishes to its own telemetry topic. */
  accounts: Account[];
  /** Index of accounts[0] among all devices of the scenario (ids carry it too). */
  firstIndex: number;
  qos: Qos;
  /** flood: as fast as the socket (QoS 0) or the in-flight window (QoS 1) allows; paced: `rate` per device. */
  mode: 'flood' | 'paced';
  /** Readings per second per device in paced mode. */
  rate: number;
  /** Unacknowledged QoS 1 publishes per device at most (flood mode). */
  window: number;
  /** Keep every send time in the measured window, for latency. */
  recordSends: boolean;
  /** Publish through lean-publisher.ts's raw sockets instead of MQTT.js (QoS 1 only; mqtt: or ws: URLs). */
  lean?: boolean;
}

export interface SubscribeRole {
  kind: 'subscribe';
  url: string;
  accounts: Account[];
  filter: string;
  qos: Qos;
  /** Keep every receive time, for latency. */
  recordReceives: boolean;
}

export interface IdleRole {
  kind: 'idle';
  url: string;
  accounts: Account[];
  keepaliveS: number;
}

export type Role = PublishRole | SubscribeRole | IdleRole;

/** Absolute times on clock(): load starts, measuring starts (after warm-up), everything stops. */
export interface Window {
  startAt: number;
  measureFrom: number;
  endAt: number;
}

export type Request =
  | { op: 'connect'; role: Role }
  | { op: 'run'; window: Window }
  /** full: with the receive times (large); without, counts only, cheap to poll. */
  | { op: 'report'; full: boolean };

export interface ConnectReport {
  connected: number;
  failed: number;
  /** A few distinct failure messages. */
  errors: string[];
  seconds: number;
  /** This process's own CPU time while connecting, ms. */
  cpuMs: number;
}

export interface PublishReport {
  sent: number;
  acked: number;
  sentInWindow: number;
  ackedInWindow: number;
  /** Flat [deviceIndex, seq, sentAt] triples of the publishes in the measured window (recordSends). */
  sends: Float64Array;
}

export interface SubscribeReport {
  received: number;
  receivedInWindow: number;
  /** Flat [deviceIndex, seq, receivedAt] triples (recordReceives). */
  receives: Float64Array;
}

export interface IdleReport {
  open: number;
}

export type Reply = { id: number; ok: true; data: unknown } | { id: number; ok: false; error: string };
