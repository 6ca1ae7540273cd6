// Lifecycle events, as IoT Core's $aws/events/presence/...: on every connect
// and disconnect the gateway publishes `$events/presence/{connected|
// disconnected}/{clientId}` with the reason, and keeps the last state of each
// device for /api/devices.
import { randomUUID } from 'node:crypto';
import type { Aedes, Client } from 'aedes';
import { EVENTS_ROOT, isValidDeviceId } from '../contract/topics.js';
import { clientById, publishJson } from './broker.js';

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

export class Presence {
  private readonly sessions = new WeakMap<Client, string>();
  private readonly versions = new Map<string, number>();
  private readonly devices = new Map<string, DevicePresence>();
  private closing = false;

  constructor(
    private readonly broker: Aedes,
    private readonly reasons: DisconnectReasons,
    private readonly principalOf: (client: Client) => string,
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
    return this.devices.get(deviceId);
  }

  /** Device ids seen connecting since start, whether or not they stored telemetry. */
  knownDevices(): string[] {
    return [...this.devices.keys()];
  }

  private nextVersion(clientId: string): number {
    const version = (this.versions.get(clientId) ?? 0) + 1;
    if (!this.versions.has(clientId) && this.versions.size >= MAX_TRACKED) this.versions.delete(this.versions.keys().next().value!);
    this.versions.set(clientId, version);
    return version;
  }

  private track(clientId: string, update: Partial<DevicePresence>): void {
    if (!isValidDeviceId(clientId)) return;
    const previous = this.devices.get(clientId) ?? { online: false, connectedAt: null, disconnectedAt: null, disconnectReason: null };
    if (!this.devices.has(clientId) && this.devices.size >= MAX_TRACKED) this.devices.delete(this.devices.keys().next().value!);
    this.devices.set(clientId, { ...previous, ...update });
  }

  private event(client: Client, eventType: 'connected' | 'disconnected'): LifecycleEvent {
    let session = this.sessions.get(client);
    if (!session) this.sessions.set(client, (session = randomUUID()));
    const conn = client.conn as { remoteAddress?: string };
    return {
      clientId: client.id,
      timestamp: this.now(),
      eventType,
      sessionIdentifier: session,
      principalIdentifier: this.principalOf(client),
      ipAddress: conn.remoteAddress ?? client.req?.socket.remoteAddress ?? null,
      versionNumber: this.nextVersion(client.id),
    };
  }

  private publish(event: LifecycleEvent): void {
    publishJson(this.broker, presenceTopic(event.eventType, event.clientId), event);
  }

  private connected(client: Client): void {
    const event = this.event(client, 'connected');
    this.track(client.id, { online: true, connectedAt: event.timestamp, disconnectReason: null });
    this.publish(event);
  }

  private disconnected(client: Client): void {
    const wantsOut = (client as unknown as { _disconnected?: boolean })._disconnected === true;
    const reason: DisconnectReason = wantsOut
      ? 'CLIENT_INITIATED_DISCONNECT'
      : (this.reasons.get(client) ?? (this.closing ? 'SERVER_INITIATED_DISCONNECT' : 'CONNECTION_LOST'));
    const event: LifecycleEvent = {
      ...this.event(client, 'disconnected'),
      clientInitiatedDisconnect: reason === 'CLIENT_INITIATED_DISCONNECT',
      disconnectReason: reason,
    };
    // A takeover's old session ends after the new one began: it must not mark the device offline.
    const current = clientById(this.broker, client.id);
    if (!current || current === client) this.track(client.id, { online: false, disconnectedAt: event.timestamp, disconnectReason: reason });
    this.publish(event);
  }
}
