// The broker core (STYLE.md §2): one aedes instance, built once, with the
// gateway's policy in its hooks. Transports are adapters in listeners.ts.
import { Aedes, type Client, type PublishPacket } from 'aedes';
import type { Logger } from 'pino';
import { rejectionTopic, parseDeviceTopic } from '../contract/topics.js';
import type { Ingest } from '../ingest/ingest.js';
import type { Metrics } from '../metrics.js';

export interface BrokerOptions {
  ingest: Ingest;
  metrics: Metrics;
  logger: Logger;
}

export type Transport = 'tcp' | 'ws';

/** Clients that came through the WebSocket adapter carry the upgrade request. */
export function transportOf(client: Client): Transport {
  return client.req ? 'ws' : 'tcp';
}

/**
 * Routes a refused telemetry publish to the publisher's rejection topic
 * instead of its subscribers: live subscribers then see exactly the readings
 * the store keeps, and the device, which MQTT 3.1.1 cannot NACK, can learn why.
 */
function redirectRejected(packet: PublishPacket, clientId: string, reason: string, message: string): void {
  const original = packet.topic;
  packet.topic = rejectionTopic(clientId);
  packet.retain = false;
  packet.payload = Buffer.from(JSON.stringify({ reason, message, topic: original }));
}

export async function createBroker({ ingest, metrics, logger }: BrokerOptions): Promise<Aedes> {
  const broker = await Aedes.createBroker({
    // Device ids may be 64 characters (DESIGN.md §2); MQTT 3.1 capped client ids at 23.
    maxClientsIdLength: 64,
    // A subscriber that stops reading must not stall delivery to everyone else for long.
    drainTimeout: 10_000,
    authorizePublish(client, packet, callback) {
      // Will messages of clients that are already gone arrive with no client.
      if (client === null) return callback(null);
      // `$` topics are the gateway's own [MQTT-4.7.2-1]; aedes refuses only $SYS by default.
      if (packet.topic.startsWith('$')) return callback(new Error(`${packet.topic.split('/')[0]} topics are reserved`));
      const deviceTopic = parseDeviceTopic(packet.topic);
      // Validated here, before routing and before the QoS 1 PUBACK, so an
      // acknowledged reading is already queued for the store.
      if (deviceTopic?.kind === 'telemetry') {
        const result = ingest.offer(client.id, packet.topic, packet.payload);
        if (!result.ok) redirectRejected(packet, client.id, result.reason, result.message);
      }
      callback(null);
    },
  });

  const connections = metrics.mqttConnections;
  broker.on('client', (client) => connections.inc({ transport: transportOf(client) }));
  broker.on('clientDisconnect', (client) => connections.dec({ transport: transportOf(client) }));
  broker.on('clientError', (client, err) => {
    metrics.mqttClientErrors.inc();
    logger.debug({ clientId: client.id, err: err.message }, 'mqtt client error');
  });
  broker.on('connectionError', (client, err) => {
    metrics.mqttClientErrors.inc();
    logger.debug({ clientId: client?.id, err: err.message }, 'mqtt connection error');
  });
  return broker;
}

export function closeBroker(broker: Aedes): Promise<void> {
  return new Promise((resolve) => broker.close(() => resolve()));
}

/** aedes keeps connected clients by id at runtime but leaves `clients` out of its types. */
export function isConnected(broker: Aedes, clientId: string): boolean {
  const { clients } = broker as unknown as { clients: Record<string, Client | undefined> };
  return clients[clientId]?.connected === true;
}
