// What one simulated device is given and what it counts: the options a fleet
// (or a test) builds for each device, the reading as sent, and the counters
// every device of a fleet adds to.
import type { IClientOptions } from 'mqtt';
import type { TelemetryPayload } from '../broker/contract/telemetry.js';
import type { BackoffOptions } from './backoff.js';
import type { Malformed } from './faults.js';
import type { Profile } from './profiles.js';
import type { Rng } from './rng.js';
import type { Timer } from './scheduler.js';

/** A reading as sent: `ts` and `seq` fixed when measured, kept through any buffering. */
export type Reading = Required<TelemetryPayload>;

/**
 * Counters shared by every device of a fleet; devices only add to them.
 * `connected` and `connecting` (waiting for CONNACK) are gauges; `acknowledged` means PUBACKed (QoS 1/2) or written (QoS 0);
 * `dropped` counts buffer overflow; `rejected` counts the gateway's rejection notices.
 */
export interface DeviceCounters {
  connected: number; connecting: number; connects: number; reconnects: number;
  produced: number; published: number; acknowledged: number; dropped: number;
  malformed: number; rejected: number; errors: number;
  lastError: string | null;
}

export function createCounters(): DeviceCounters {
  return { connected: 0, connecting: 0, connects: 0, reconnects: 0, produced: 0, published: 0, acknowledged: 0, dropped: 0, malformed: 0, rejected: 0, errors: 0, lastError: null };
}

export interface DeviceOptions {
  id: string;
  url: string;
  profile: Profile;
  /** Feeds the profile only, so fault and timing draws never change the series. */
  profileRng: Rng;
  /** Jitter, backoff and fault draws. */
  rng: Rng;
  timer: Timer;
  counters: DeviceCounters;
  intervalMs: number;
  /** Each gap varies uniformly by ±jitter·interval. */
  jitter: number;
  qos: 0 | 1 | 2;
  bufferSize: number;
  secret?: string;
  /** Readings to produce before going quiet; undefined for no limit. */
  messages?: number;
  backoff?: BackoffOptions;
  /** A connection that lasted this long resets the backoff; a shorter one (a flapping device) keeps growing it. */
  stableMs?: number;
  keepaliveS?: number;
  /** Unacknowledged publishes per connection; the rest wait in the buffer. */
  maxInflight?: number;
  /** Share of ticks that send a malformed payload instead of a reading. */
  malformedRate?: number;
  malformed?: () => Malformed;
  /** Mean time between injected connection drops, ms. */
  disconnectMeanMs?: number;
  mqttOptions?: IClientOptions;
}
