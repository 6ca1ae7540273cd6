// N devices behind one scheduler (issue #4, items 3, 4 and 6): ramped start,
// per-device seeded randomness, fleet-wide faults and one set of counters.
// The gateway's demo mode and the CLI both drive devices through startFleet.
import type { IClientOptions } from 'mqtt';
import type { BackoffOptions } from './backoff.js';
import { malformedCycle, startSlowSubscriber, type SlowSubscriber } from './faults.js';
import { MIXED, profileFor } from './profiles.js';
import { deriveSeed, mulberry32 } from './rng.js';
import { Scheduler, type TimerHandle } from './scheduler.js';
import { createCounters, type DeviceCounters } from './device-options.js';
import { DeviceSimulator } from './simulator.js';

/** Options of a fleet; only url, count and rate are required. */
export interface FleetOptions {
  url: string;
  count: number;
  /** Readings per second per device (event profiles: the mean rate). */
  rate: number;
  /** Ids are `${idPrefix}-${index}`, index from 1, zero-padded to 4 digits or more. Default `sim`. */
  idPrefix?: string;
  /** A profile name or `mixed` (device i gets profile i mod 4). Default `mixed`. */
  profile?: string;
  /** Same seed and options, same series. Default 1. */
  seed?: number;
  /** Default 1: acknowledged readings are what the offline buffer relies on. */
  qos?: 0 | 1 | 2;
  /** Device id -> secret, when the gateway requires credentials (username = client id = device id). */
  credentials?: Map<string, string>;
  log?: (line: string) => void;
  /** Each gap varies by ±jitter·interval, 0..1. Default 0.1. */
  jitter?: number;
  /** New connections per second while starting; 0 starts every device at once. Default 500. */
  ramp?: number;
  /** Offline buffer per device, readings. Default 1000. */
  bufferSize?: number;
  /** Readings per device before it goes quiet (see Fleet.settled). Default unlimited. */
  messages?: number;
  backoff?: BackoffOptions;
  /** Share of payloads replaced by malformed ones, cycling through the rejection classes. */
  malformedRate?: number;
  /** Mean time between injected socket drops per device, ms. */
  disconnectEveryMs?: number;
  /** This many devices get a second connection with the same client id. */
  duplicateIds?: number;
  /** Every this many ms, every device drops and reconnects at once, ignoring backoff. */
  stormEveryMs?: number;
  /** Adds a subscriber to every device's telemetry that reads at a trickle. */
  slowSubscriber?: boolean;
  keepaliveS?: number;
  /** Passed to every MQTT.js connection (e.g. TLS `ca` or `rejectUnauthorized`). */
  mqttOptions?: IClientOptions;
}

/** A snapshot of the fleet's counters; rates are the reader's business (status.ts). */
export interface FleetStats extends Omit<DeviceCounters, 'lastError'> {
  devices: number;
  /** Devices plus duplicate-id twins. */
  connections: number;
  buffered: number;
  storms: number;
  lastError: string | null;
  slowSubscriber: { received: number; connected: boolean } | null;
  elapsedMs: number;
}

export interface Fleet {
  readonly ids: readonly string[];
  stats(): FleetStats;
  /** With `messages`: every device has produced them all and had them acknowledged. */
  settled(): boolean;
  /** Disconnects every device cleanly, sending nothing further; resolves when sockets are closed. */
  stop(): Promise<void>;
}

export const FLEET_DEFAULTS = Object.freeze({
  idPrefix: 'sim', profile: MIXED, seed: 1, qos: 1 as const, jitter: 0.1, ramp: 500, bufferSize: 1000,
});

/** `sim-0001`…: zero-padded so ids sort in fleet order. */
export function deviceIds(count: number, idPrefix: string = FLEET_DEFAULTS.idPrefix): string[] {
  const width = Math.max(4, String(count).length);
  return Array.from({ length: count }, (_, i) => `${idPrefix}-${String(i + 1).padStart(width, '0')}`);
}

/** A valid id of a device outside the fleet, for a one-device fleet's foreign-topic fault. */
function peerOf(ids: readonly string[], index: number): string {
  return ids.length > 1 ? ids[(index + 1) % ids.length]! : `${ids[index]!.slice(0, 59)}-peer`;
}

export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const o = { ...FLEET_DEFAULTS, ...options };
  if (!Number.isInteger(o.count) || o.count < 1) throw new RangeError(`count must be a positive integer, got ${o.count}`);
  if (!(o.rate > 0)) throw new RangeError(`rate must be positive, got ${o.rate}`);
  if (!profileFor(o.profile, 0)) throw new RangeError(`unknown profile ${JSON.stringify(o.profile)}`);
  const ids = deviceIds(o.count, o.idPrefix);
  const missing = o.credentials ? ids.filter((id) => !o.credentials!.has(id)) : [];
  if (missing.length > 0) throw new RangeError(`no credentials for ${missing.length} device(s), e.g. ${missing[0]}`);

  const log = o.log ?? (() => undefined);
  const scheduler = new Scheduler();
  const counters = createCounters();
  const startedAt = scheduler.now();
  const malformed = malformedCycle();
  const intervalMs = 1000 / o.rate;

  const make = (index: number, twin: boolean) => {
    const id = ids[index]!;
    return new DeviceSimulator({
      id, url: o.url, profile: profileFor(o.profile, index)!,
      profileRng: mulberry32(deriveSeed(o.seed, index, 1)),
      rng: mulberry32(deriveSeed(o.seed, index, twin ? 3 : 2)),
      timer: scheduler, counters, intervalMs, jitter: o.jitter, qos: o.qos, bufferSize: o.bufferSize,
      secret: o.credentials?.get(id),
      // A twin only holds the client id; its readings would muddle the real device's series.
      messages: twin ? 0 : o.messages,
      backoff: o.backoff, keepaliveS: o.keepaliveS, mqttOptions: o.mqttOptions,
      malformedRate: twin ? 0 : o.malformedRate,
      malformed: () => malformed(id, peerOf(ids, index), scheduler.now()),
      disconnectMeanMs: twin ? undefined : o.disconnectEveryMs,
    });
  };
  const devices = ids.map((_, i) => make(i, false));
  const twins = Array.from({ length: Math.min(o.duplicateIds ?? 0, o.count) }, (_, i) => make(i, true));

  const pending = new Set<TimerHandle>();
  const at = (delayMs: number, fn: () => void) => {
    const handle = scheduler.set(() => {
      pending.delete(handle);
      fn();
    }, delayMs);
    pending.add(handle);
  };
  // The ramp opens at most `ramp` connections per second, and holds back while a
  // second's worth still wait for their CONNACK: a gateway slow to accept then
  // slows the ramp, instead of collecting attempts that time out and retry.
  let started = 0;
  const pace = () => {
    const due = o.ramp > 0 ? Math.floor(((scheduler.now() - startedAt) * o.ramp) / 1000) + 1 : devices.length;
    while (started < Math.min(due, devices.length) && (o.ramp === 0 || counters.connecting < o.ramp)) {
      const i = started++;
      devices[i]!.start();
      // A twin connects a second after its device, so there is a session to take over.
      if (twins[i]) at(1000, () => twins[i]!.start());
    }
    if (started < devices.length) at(10, pace);
  };
  pace();

  let storms = 0;
  const storm = () => {
    storms++;
    log(`storm ${storms}: every device drops its connection and reconnects at once`);
    for (const device of [...devices, ...twins]) device.drop(true);
    at(o.stormEveryMs!, storm);
  };
  if (o.stormEveryMs) at(o.stormEveryMs, storm);

  let slow: SlowSubscriber | null = null;
  if (o.slowSubscriber) {
    const clientId = `${o.idPrefix}-slow-subscriber`;
    try {
      slow = await startSlowSubscriber(o.url, { clientId, secret: o.credentials?.get(clientId), mqttOptions: o.mqttOptions });
      log(`slow subscriber ${clientId} subscribed to all telemetry, reading at a trickle`);
    } catch (err) {
      counters.errors++;
      counters.lastError = `${clientId}: ${(err as Error).message}`;
      log(`slow subscriber ${clientId} could not connect: ${(err as Error).message}`);
    }
  }
  log(`fleet of ${o.count} device(s) starting against ${o.url}: ${o.profile}, ${o.rate}/s each, qos ${o.qos}, seed ${o.seed}`);

  let stopping: Promise<void> | null = null;
  return {
    ids,
    stats() {
      let buffered = 0;
      for (const device of devices) buffered += device.buffered;
      return {
        ...counters, devices: devices.length, connections: devices.length + twins.length, buffered, storms,
        slowSubscriber: slow ? { received: slow.received, connected: slow.connected } : null,
        elapsedMs: scheduler.now() - startedAt,
      };
    },
    settled: () => devices.every((d) => d.settled),
    stop() {
      stopping ??= (async () => {
        for (const handle of pending) scheduler.clear(handle);
        pending.clear();
        await Promise.all([...devices, ...twins].map((d) => d.stop()));
        await slow?.close();
        scheduler.close();
        log(`fleet stopped`);
      })();
      return stopping;
    },
  };
}
