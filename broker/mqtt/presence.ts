// Lifecycle events, as IoT Core's $aws/events/presence/...: on every connect
// and disconnect the gateway publishes `$events/presence/{connected|
// disconnected}/{clientId}` with the reason, and keeps the last state of each
// device for /api/devices.
import { randomUUID } from 'node:crypto';
import type { Aedes, Client } from 'aedes';
import { EVENTS_ROOT, isValidDeviceId } from '../contract/topics.js';
import { principalOf } from './auth.js';
import { clientById, publishJson } from './broker.js';
import type { Identity } from './policy.js';

/** IoT Core's disconnect reasons, the subset this gateway can tell apart. */
export type DisconnectReason =
  | 'CLIENT_INITIATED_DISCONNECT'
  | 'CONNECTION_LOST'
  | 'MQTT_KEEP_ALIVE_TIMEOUT'
  | 'DUPLICATE_CLIENTID'
  | 'AUTH_ERROR'
  | 'FORBIDDEN_ACCESS'
  | 'THROTTLED'
  | 'CLIENT_ERROR'
  | 'SERVER_INITIATED_DISCONNECT';

export interface LifecycleEvent {
  clientId: string;
  timestamp: number;
  eventType: 'connected' | 'disconnected';
  sessionIdentifier: string;
  principalIdentifier: string;
  ipAddress: string | null;
  versionNumber: number;
  clientInitiatedDisconnect?: boolean;
  disconnectReason?: DisconnectReason;
}

export interface DevicePresence {
  online: boolean;
  connectedAt: number | null;
  disconnectedAt: number | null;
  disconnectReason: DisconnectReason | null;
}

export function presenceTopic(eventType: 'connected' | 'disconnected', clientId: string): string {
  return `${EVENTS_ROOT}/presence/${eventType}/${clientId.replace(/[/+#]/g, '_')}`;
}

const MAX_TRACKED = 100_000;

/** Why a client is about to go, noted by whoever closes it and read when aedes reports the disconnect. */
export class DisconnectReasons {
  private readonly reasons = new WeakMap<Client, DisconnectReason>();

  /** The first reason given wins. */
  mark(client: Client, reason: DisconnectReason): void {
    if (!this.reasons.has(client)) this.reasons.set(client, reason);
  }

  get(client: Client): DisconnectReason | undefined {
    return this.reasons.get(client);
  }
}

/** What presence keeps per client id: the last event's version and the state /api/devices shows. */
interface Tracked extends DevicePresence {
  version: number;
  /** Last connected with a viewer token (a dashboard): not a device, though its id may look like one. */
  viewer: boolean;
}

export class Presence {
  /**
   * A number per connection, not a UUID string: 56 bytes less per connection.
   * The session identifier is formatted from it (see sessionOf).
   */
  private readonly sessions = new WeakMap<Client, number>();
  private sessionCount = 0;
  /** Random per process, so identifiers from different runs or nodes do not collide. */
  private readonly sessionPrefix = randomUUID().slice(0, 24);
  /** One record per client id (one Map entry, updated in place), bounded by MAX_TRACKED. */
  private readonly tracked = new Map<string, Tracked>();
  private closing = false;

  constructor(
    private readonly broker: Aedes,
    private readonly reasons: DisconnectReasons,
    private readonly identityOf: (client: Client) => Identity | undefined,
    private readonly now: () => number = Date.now,
  ) {
    broker.on('client', (client) => this.connected(client));
    broker.on('clientDisconnect', (client) => this.disconnected(client));
    broker.on('keepaliveTimeout', (client) => reasons.mark(client, 'MQTT_KEEP_ALIVE_TIMEOUT'));
    broker.on('clientError', (client) => reasons.mark(client, 'CLIENT_ERROR'));
  }

  /** A client with this id has just authenticated: the connected one (if any) is being taken over. */
  takeover(clientId: string): void {
    const current = clientById(this.broker, clientId);
    if (current) this.reasons.mark(current, 'DUPLICATE_CLIENTID');
  }

  /** From now on, disconnects are the server's doing. */
  shuttingDown(): void {
    this.closing = true;
  }

  of(deviceId: string): DevicePresence | undefined {
    const t = isValidDeviceId(deviceId) ? this.tracked.get(deviceId) : undefined;
    return t && { online: t.online, connectedAt: t.connectedAt, disconnectedAt: t.disconnectedAt, disconnectReason: t.disconnectReason };
  }

  /**
   * Device ids seen connecting since start, whether or not they stored
   * telemetry. Dashboards are left out: listed, each open tab became the first
   * online "device" of every dashboard, one with no metrics to show.
   */
  knownDevices(): string[] {
    const ids: string[] = [];
    for (const [id, t] of this.tracked) if (!t.viewer && isValidDeviceId(id)) ids.push(id);
    return ids;
  }

  private trackedOf(clientId: string): Tracked {
    let t = this.tracked.get(clientId);
    if (!t) {
      if (this.tracked.size >= MAX_TRACKED) this.tracked.delete(this.tracked.keys().next().value!);
      t = { version: 0, viewer: false, online: false, connectedAt: null, disconnectedAt: null, disconnectReason: null };
      this.tracked.set(clientId, t);
    }
    return t;
  }

  /** UUID-shaped: the process's random prefix and the connection's number. */
  private sessionOf(client: Client): string {
    let n = this.sessions.get(client);
    if (n === undefined) this.sessions.set(client, (n = ++this.sessionCount));
    return this.sessionPrefix + n.toString(16).padStart(12, '0');
  }

  private event(client: Client, eventType: 'connected' | 'disconnected', tracked: Tracked): LifecycleEvent {
    const conn = client.conn as { remoteAddress?: string };
    return {
      clientId: client.id,
      timestamp: this.now(),
      eventType,
      sessionIdentifier: this.sessionOf(client),
      principalIdentifier: principalOf(this.identityOf(client)),
      ipAddress: conn.remoteAddress ?? client.req?.socket.remoteAddress ?? null,
      versionNumber: ++tracked.version,
    };
  }

  private publish(event: LifecycleEvent): void {
    publishJson(this.broker, presenceTopic(event.eventType, event.clientId), event);
  }

  private connected(client: Client): void {
    const tracked = this.trackedOf(client.id);
    const event = this.event(client, 'connected', tracked);
    tracked.online = true;
    tracked.viewer = this.identityOf(client)?.kind === 'viewer';
    tracked.connectedAt = event.timestamp;
    tracked.disconnectReason = null;
    this.publish(event);
  }

  private disconnected(client: Client): void {
    const wantsOut = (client as unknown as { _disconnected?: boolean })._disconnected === true;
    const reason: DisconnectReason = wantsOut
      ? 'CLIENT_INITIATED_DISCONNECT'
      : (this.reasons.get(client) ?? (this.closing ? 'SERVER_INITIATED_DISCONNECT' : 'CONNECTION_LOST'));
    const tracked = this.trackedOf(client.id);
    const event: LifecycleEvent = {
      ...this.event(client, 'disconnected', tracked),
      clientInitiatedDisconnect: reason === 'CLIENT_INITIATED_DISCONNECT',
      disconnectReason: reason,
    };
    // A takeover's old session ends after the new one began: it must not mark the device offline.
    const current = clientById(this.broker, client.id);
    if (!current || current === client) {
      tracked.online = false;
      tracked.disconnectedAt = event.timestamp;
      tracked.disconnectReason = reason;
    }
    this.publish(event);
  }
}
