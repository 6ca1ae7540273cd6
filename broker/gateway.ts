// The composition root (STYLE.md §3): builds every component from a Config,
// starts them in data-flow order and closes them in the same order, so no
// input arrives after the ingest queue has been flushed.
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import type { Config } from './config.js';
import type { Reading } from './contract/telemetry.js';
import { createApi } from './api/app.js';
import { SeriesNotifier } from './api/notifier.js';
import { Ingest } from './ingest/ingest.js';
import { Spool } from './ingest/spool.js';
import { createMetrics, type Metrics } from './metrics.js';
import { closeBroker, publishJson } from './mqtt/broker.js';
import { createMqttCore } from './mqtt/core.js';
import { openBrokerBackend } from './mqtt/persistence.js';
import { DeviceRegistry } from './registry/registry.js';
import { ShadowService } from './shadow/service.js';
import { ShadowStore } from './shadow/store.js';
import { TokenIssuer } from './registry/tokens.js';
import { MQTT_WS_PATH, startListeners } from './mqtt/listeners.js';
import { createStore } from './store/create-store.js';
import type { TelemetryStore } from './store/store.js';

export interface GatewayDeps {
  logger?: Logger;
  store?: TelemetryStore;
  now?: () => number;
}

export interface GatewayAddresses {
  mqtt: string;
  /** MQTT over TLS; null without a certificate. */
  mqtts: string | null;
  http: string;
  ws: string;
}

export interface Gateway {
  addresses: GatewayAddresses;
  metrics: Metrics;
  ingest: Ingest;
  registry: DeviceRegistry;
  tokens: TokenIssuer;
  logger: Logger;
  /** Stops input, writes every accepted reading to the store or the spool, then closes the store. Resolves to the number of readings lost (0 unless neither took them). */
  close(): Promise<number>;
}

function url(scheme: string, address: AddressInfo, path = ''): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${scheme}://${host}:${address.port}${path}`;
}

export async function createGateway(config: Readonly<Config>, deps: GatewayDeps = {}): Promise<Gateway> {
  const logger = deps.logger ?? pino({ level: config.logLevel });
  const now = deps.now ?? Date.now;
  const metrics = createMetrics();
  // Sessions, retained messages and wills: on disk (one node) or in Redis (cluster), see mqtt/persistence.ts.
  // First, so that LevelDB's lock refuses a second gateway on this DATA_DIR before it touches the spool.
  const backend = await openBrokerBackend(config, logger.child({ component: 'persistence' }));
  logger.info({ persistence: backend.kind, nodeId: config.nodeId, cluster: config.redisUrl !== null }, 'broker persistence open');
  const store = deps.store ?? createStore(config, now);
  const notifier = new SeriesNotifier();
  const spool = await Spool.open<Reading>({
    dir: config.spoolDir,
    maxBytes: config.spoolMaxBytes,
    onCorrupt: (detail) => logger.error(detail, 'a spool record failed its checksum; its readings are skipped'),
  });
  const ingest = new Ingest({
    store,
    metrics,
    logger: logger.child({ component: 'ingest' }),
    batchSize: config.ingestBatchSize,
    flushIntervalMs: config.ingestFlushMs,
    maxReadingBytes: config.maxReadingBytes,
    maxClockSkewMs: config.maxClockSkewMs,
    spool,
    maxQueued: config.ingestMaxQueued,
    retryDelayMs: config.storeRetryMs,
    maxRetryDelayMs: config.storeRetryMaxMs,
    now,
    onStored: (result) => notifier.notify(result.series),
  });
  ingest.start();
  const registryFile = path.join(config.dataDir, 'registry.db');
  const registry = new DeviceRegistry(registryFile, now);
  const tokens = new TokenIssuer(config.tokenTtlMs, config.tokenSecret ?? undefined, now);
  const { broker, presence, admission, memory, disconnectDevice } = await createMqttCore({ config, ingest, registry, tokens, metrics, logger, now, backend });
  const shadowStore = new ShadowStore(registryFile);
  const shadows = new ShadowService(shadowStore, (topic, body) => publishJson(broker, topic, body), now);
  // Shadow requests are routed like any publish (the policy has already checked them); the service answers.
  broker.on('publish', (packet, client) => {
    if (client) shadows.handleMqtt(packet.topic, packet.payload);
  });
  const tls = config.tlsCert && config.tlsKey ? { cert: fs.readFileSync(config.tlsCert), key: fs.readFileSync(config.tlsKey) } : undefined;
  const api = await createApi({
    store,
    metrics,
    logger: logger.child({ component: 'http' }),
    notifier,
    dashboardDir: config.dashboardDir,
    maxLongPolls: config.maxLongPolls,
    maxStreams: config.maxStreams,
    sseHeartbeatMs: config.sseHeartbeatMs,
    registry,
    tokens,
    adminToken: config.adminToken,
    disconnect: disconnectDevice,
    httpRate: config.httpRate,
    tls,
    presence,
    shadows,
    topShedders: () => admission.topShedders(),
    pendingReadings: () => ingest.pending,
    spool: () => ingest.spool,
    now,
  });
  const listeners = await startListeners({
    broker,
    httpServer: api.server,
    host: config.host,
    mqttPort: config.mqttPort,
    mqtts: tls ? { port: config.mqttsPort, ...tls } : undefined,
    maxPacketBytes: config.maxPacketBytes,
    allowedOrigins: config.allowedOrigins,
    metrics,
  });
  await api.listen({ host: config.host, port: config.httpPort });
  const httpAddress = api.server.address() as AddressInfo;

  let closing: Promise<number> | null = null;
  async function close(): Promise<number> {
    presence.shuttingDown();
    await Promise.all([listeners.close(), closeBroker(broker)]);
    admission.close();
    await backend.close();
    const lost = await ingest.close();
    // HTTP handlers read the store, so HTTP stops before the store closes.
    // Connections that never sent a request count as neither idle nor busy in
    // Node and would hold close() until they time out: cut them after a grace period.
    const force = setTimeout(() => api.server.closeAllConnections(), 1_000);
    await api.close();
    clearTimeout(force);
    await store.close();
    registry.close();
    shadowStore.close();
    memory.stop();
    logger.info({ lost }, 'gateway stopped');
    return lost;
  }

  return {
    addresses: {
      mqtt: url('mqtt', listeners.mqtt),
      mqtts: listeners.mqtts ? url('mqtts', listeners.mqtts) : null,
      http: url(tls ? 'https' : 'http', httpAddress),
      ws: url(tls ? 'wss' : 'ws', httpAddress, MQTT_WS_PATH),
    },
    metrics,
    ingest,
    registry,
    tokens,
    logger,
    close: () => (closing ??= close()),
  };
}
