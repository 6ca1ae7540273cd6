// The broker core (STYLE.md §2): one aedes instance, built once, with the
// gateway's policy in its hooks. Transports are adapters in listeners.ts.
import { Aedes, type Client, type PublishPacket } from 'aedes';
import type { Logger } from 'pino';
import { parseDeviceTopic, rejectionTopic } from '../contract/topics.js';
import type { Ingest } from '../ingest/ingest.js';
import type { Metrics } from '../metrics.js';
import type { Auth } from './auth.js';
import type { DisconnectReasons } from './presence.js';
import { ANONYMOUS, canPublish, canSubscribe } from './policy.js';
import type { Admission } from './admission.js';
import { forgetDurability, trackDurability, whenDurable } from './durability.js';
import type { BrokerBackend } from './persistence.js';
import { createPublishThrottle, type PublishLimits } from './throttle.js';

export interface BrokerLimits extends PublishLimits {
  maxTopicLength: number;
  maxTopicLevels: number;
  maxSubscriptions: number;
  /** Bytes queued on a subscriber's socket past which messages to it are dropped, not waited on. */
  slowSubscriberBytes: number;
  /** How long a frozen subscriber may hold a write before it is disconnected. */
  drainTimeoutMs: number;
}

export interface BrokerOptions {
  ingest: Ingest;
  reasons: DisconnectReasons;
  admission: Admission;
  auth: Auth;
  limits: BrokerLimits;
  metrics: Metrics;
  logger: Logger;
  now?: () => number;
  /** Sessions, retained messages and the message bus (broker/mqtt/persistence.ts); absent: aedes' in-memory defaults. */
  backend?: Pick<BrokerBackend, 'persistence' | 'mq'>;
}

export type Transport = 'tcp' | 'ws';

/** Clients that came through the WebSocket adapter carry the upgrade request. */
export function transportOf(client: Client): Transport {
  return client.req ? 'ws' : 'tcp';
}

/**
 * Sends a refused publish to the publisher's rejection topic instead of its
 * subscribers: live subscribers then see exactly what the store keeps, and the
 * device, which MQTT 3.1.1 cannot NACK, can learn why.
 */
export function redirectRejected(packet: PublishPacket, clientId: string, reason: string, message: string): void {
  const original = packet.topic;
  packet.topic = rejectionTopic(clientId);
  packet.retain = false;
  packet.payload = Buffer.from(JSON.stringify({ reason, message, topic: original }));
}

export async function createBroker({ ingest, reasons, auth, admission, limits, metrics, logger, now = Date.now, backend }: BrokerOptions): Promise<Aedes> {
  const throttle = createPublishThrottle(limits, metrics, now);
  const { mqttMessagesIn: messagesIn, mqttMessagesOut: messagesOut } = metrics;
  /** QoS 0 dropped at the edge: `shed` makes the patched aedes end the publish unrouted (patches/aedes+1.2.0.patch). */
  const shed = (packet: PublishPacket, reason: 'rate_limited' | 'overload', callback: (err: null) => void) => {
    (packet as PublishPacket & { shed?: boolean }).shed = true;
    metrics.mqttDropped.inc({ qos: '0', reason });
    callback(null);
  };
  const broker = await Aedes.createBroker({
    // Device ids may be 64 characters (DESIGN.md §2); MQTT 3.1 capped client ids at 23.
    maxClientsIdLength: 64,
    persistence: backend?.persistence,
    mq: backend?.mq,
    maxTopicLevels: limits.maxTopicLevels,
    // No queue inside mqemitter: with a concurrency limit it queues without
    // bound and drains that queue recursively (a stack overflow under load,
    // upstream mqemitter PR #204) and, when a delivery completes synchronously,
    // reuses a fastparallel holder still in use, stalling every slot. Admission
    // (admission.ts) bounds the messages in flight instead, before aedes sees them.
    concurrency: 0,
    drainTimeout: limits.drainTimeoutMs,
    preConnect: auth.preConnect,
    authenticate: auth.authenticate,

    authorizePublish(client, packet, callback) {
      // Wills of clients that are already gone, and the gateway's own messages, arrive with no client.
      if (client === null) return callback(null);
      // Every PUBLISH a client sends passes here first, allowed or not; a will (no cmd) is not one.
      if (packet.cmd === 'publish') messagesIn[packet.qos]! += 1;
      if (Buffer.byteLength(packet.topic) > limits.maxTopicLength) {
        return callback(new Error(`topic longer than ${limits.maxTopicLength} bytes`));
      }
      const identity = auth.identityOf(client) ?? ANONYMOUS;
      const decision = canPublish(identity, packet.topic);
      const telemetry = parseDeviceTopic(packet.topic)?.kind === 'telemetry';
      // A device's telemetry for another device is a data error that ingest answers like
      // any rejection; every other forbidden publish closes the connection, as IoT Core does.
      if (!decision.allow && !(telemetry && identity.kind === 'device')) {
        metrics.mqttPolicyDenied.inc({ action: 'publish' });
        reasons.mark(client, 'FORBIDDEN_ACCESS');
        return callback(new Error(decision.reason));
      }
      throttle(client, packet, (verdict) => {
        if (verdict === 'disconnect') {
          reasons.mark(client, 'THROTTLED');
          return callback(new Error('publish rate exceeded repeatedly'));
        }
        if (verdict === 'drop') return shed(packet, 'rate_limited', callback);
        admission.request(client, packet, () => {
          // Validated before routing and before the QoS 1 PUBACK, so an acknowledged reading is already queued for the store.
          if (telemetry) {
            const settled = trackDurability(packet);
            const result = ingest.offer(client.id, packet.topic, packet.payload, settled);
            if (!result.ok) {
              forgetDurability(packet);
              redirectRejected(packet, client.id, result.reason, result.message);
            }
          }
          callback(null);
        }, () => shed(packet, 'overload', callback));
      });
    },

    authorizeSubscribe(client, subscription, callback) {
      const decision = canSubscribe(auth.identityOf(client) ?? ANONYMOUS, subscription.topic);
      const count = Object.keys((client as unknown as { subscriptions: object }).subscriptions).length;
      if (!decision.allow || count >= limits.maxSubscriptions || Buffer.byteLength(subscription.topic) > limits.maxTopicLength) {
        metrics.mqttPolicyDenied.inc({ action: 'subscribe' });
        logger.debug({ clientId: client.id, topic: subscription.topic }, decision.allow ? 'subscription limit' : decision.reason);
        // A null subscription becomes SUBACK 0x80 (failure) and the connection stays up [MQTT-3.9.3].
        return callback(null, null);
      }
      callback(null, subscription);
    },

    published(packet, _client, done) {
      admission.routed(packet);
      done();
    },

    acknowledge(_client, packet, done) {
      whenDurable(packet, done);
    },

    authorizeForward(client, packet) {
      // A subscriber that cannot keep up loses messages instead of making
      // everyone wait for its socket to drain (aedes waits per delivery).
      if (client.conn.writableLength > limits.slowSubscriberBytes) {
        metrics.mqttForwardDropped.inc({ qos: String(packet.qos) });
        return null;
      }
      return packet;
    },

    delivered(packet) {
      messagesOut[packet.qos]! += 1;
    },
  });

  // aedes reports persistence failures (e.g. Redis unreachable while it expires old wills) as 'error' events.
  (broker as NodeJS.EventEmitter).on('error', (err: Error) => logger.error({ err }, 'broker persistence error'));
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
export function clientById(broker: Aedes, clientId: string): Client | undefined {
  return (broker as unknown as { clients: Record<string, Client | undefined> }).clients[clientId];
}

/** Publishes a JSON message as the gateway itself (no client, so no policy applies). */
export function publishJson(broker: Aedes, topic: string, body: unknown): void {
  broker.publish({ cmd: 'publish', topic, payload: Buffer.from(JSON.stringify(body)), qos: 1, retain: false, dup: false }, () => {});
}
