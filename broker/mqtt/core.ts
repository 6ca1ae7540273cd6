// Everything MQTT in one piece for the composition root: the connect guard
// and authentication, the aedes broker with its policy hooks, and the
// presence tracker that publishes lifecycle events.
import type { Aedes } from 'aedes';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Ingest } from '../ingest/ingest.js';
import type { Metrics } from '../metrics.js';
import type { DeviceRegistry } from '../registry/registry.js';
import type { TokenIssuer } from '../registry/tokens.js';
import { createAuth, type Auth } from './auth.js';
import { MemoryGuard } from '../memory-guard.js';
import { Admission } from './admission.js';
import { clientById, createBroker } from './broker.js';
import type { BrokerBackend } from './persistence.js';
import { DisconnectReasons, Presence } from './presence.js';

export interface MqttCore {
  broker: Aedes;
  auth: Auth;
  presence: Presence;
  admission: Admission;
  memory: MemoryGuard;
  /** Closes a device's connection because its credentials changed (revoked or rotated). */
  disconnectDevice(deviceId: string): void;
}

export interface MqttCoreOptions {
  config: Readonly<Config>;
  ingest: Ingest;
  registry: DeviceRegistry;
  tokens: TokenIssuer;
  metrics: Metrics;
  logger: Logger;
  now: () => number;
  /** The broker's persistence and message bus (broker/mqtt/persistence.ts). */
  backend?: BrokerBackend;
}

export async function createMqttCore({ config, ingest, registry, tokens, metrics, logger, now, backend }: MqttCoreOptions): Promise<MqttCore> {
  const reasons = new DisconnectReasons();
  // The guard reads the broker's client count and tells presence about takeovers; both exist only after the broker.
  const late: { broker?: Aedes; presence?: Presence } = {};
  const auth = createAuth({
    auth: config.auth,
    registry,
    tokens,
    limits: {
      maxConnections: config.maxConnections,
      connectRateTotal: config.connectRateTotal,
      connectRatePerClient: config.connectRatePerClient,
      flapping: { maxConnects: config.flapMaxConnects, windowMs: config.flapWindowMs, banMs: config.flapBanMs },
    },
    connectedClients: () => late.broker?.connectedClients ?? 0,
    onAuthenticated: (client) => late.presence?.takeover(client.id),
    metrics,
    logger: logger.child({ component: 'auth' }),
    now,
  });
  if (!config.auth) logger.warn('AUTH=off: any client may connect without credentials; use only for local experiments');
  const admission = new Admission({
    maxInFlight: config.maxInFlightMessages,
    shedAfterMs: config.shedAfterMs,
    pressure: () => memory.pressure,
    onWait: (qos) => metrics.mqttAdmissionWaits.inc({ qos: String(qos) }),
    now,
  });
  const memory = new MemoryGuard({
    limitBytes: config.memoryLimitBytes, metrics, logger: logger.child({ component: 'memory' }), onRelief: () => admission.drain(), now,
  });
  memory.start();
  metrics.sources.admission = () => admission.stats;
  const broker = await createBroker({ ingest, reasons, auth, admission, limits: config, metrics, logger: logger.child({ component: 'mqtt' }), now, backend });
  const presence = new Presence(broker, reasons, auth.identityOf, now);
  late.broker = broker;
  late.presence = presence;
  return {
    broker,
    auth,
    presence,
    admission,
    memory,
    disconnectDevice(deviceId) {
      const client = clientById(broker, deviceId);
      if (!client) return;
      reasons.mark(client, 'AUTH_ERROR');
      client.close();
    },
  };
}
