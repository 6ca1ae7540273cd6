// The HTTP app (fastify): health, metrics, the device API and the static
// dashboard. One error handler turns every failure into
// `{ error: { code, message } }` and hides the details of 5xx answers.
import fs from 'node:fs';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import type { Logger } from 'pino';
import { GatewayError, RequestError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { TelemetryStore } from '../store/store.js';
import type { DeviceRegistry } from '../registry/registry.js';
import type { TokenIssuer } from '../registry/tokens.js';
import { registerAdminRoutes } from './admin.js';
import type { ShadowService } from '../shadow/service.js';
import type { DevicePresence } from '../mqtt/presence.js';
import { registerDeviceRoutes } from './devices.js';
import { registerShadowRoutes } from './shadow.js';
import { registerGatewayStats } from './gateway-stats.js';
import { addRateLimit, addSecurityHeaders } from './security.js';
import type { SeriesNotifier } from './notifier.js';
import { registerSeriesRoutes } from './series.js';
import { registerStreamRoutes } from './stream.js';

export interface ApiOptions {
  store: TelemetryStore;
  notifier: SeriesNotifier;
  metrics: Metrics;
  logger: Logger;
  dashboardDir: string;
  maxLongPolls: number;
  maxStreams: number;
  sseHeartbeatMs: number;
  registry: DeviceRegistry;
  tokens: TokenIssuer;
  adminToken: string | null;
  /** Closes a device's live MQTT connection (after revoke or rotate). */
  disconnect: (deviceId: string) => void;
  /** API requests per second per client address. */
  httpRate: number;
  /** Serve HTTPS (and so WSS) with this certificate. */
  tls?: { cert: Buffer; key: Buffer };
  /** Connection state of devices seen since start. */
  presence: { of(deviceId: string): DevicePresence | undefined; knownDevices(): string[] };
  shadows: ShadowService;
  /** Clients that lost the most QoS 0 messages to overload. */
  topShedders: () => Array<{ clientId: string; shed: number }>;
  /** Readings accepted by ingest and not yet committed, for /readyz. */
  pendingReadings: () => number;
  /** The ingest spool, for /readyz: `spooling` while readings wait on disk for the store. */
  spool: () => { spooling: boolean; readings: number; bytes: number };
  now?: () => number;
}

function errorBody(code: string, message: string) {
  return { error: { code, message } };
}

export async function createApi(opts: ApiOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(opts.tls ? { https: opts.tls } : {}),
    loggerInstance: opts.logger as FastifyBaseLogger,
    // A dashboard polls several times a second; per-request info lines would drown the log.
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, allErrors: true } },
  });

  app.setErrorHandler((err: FastifyError | GatewayError, request, reply) => {
    if ('validation' in err && err.validation) {
      return reply.status(400).send(errorBody(err.validationContext === 'body' ? 'bad_body' : 'bad_query', err.message));
    }
    const status = err instanceof GatewayError ? err.status : (err.statusCode ?? 500);
    // A RequestError is written for the client (e.g. 503 over_capacity); anything else 5xx may leak internals.
    if (status >= 500 && !(err instanceof RequestError)) {
      request.log.error({ err }, 'request failed');
      const code = err instanceof GatewayError && err.code === 'GW_ERR_STORE' ? 'store_unavailable' : 'internal';
      return reply.status(status).send(errorBody(code, status === 503 ? 'the store is unavailable, retry later' : 'internal error'));
    }
    return reply.status(status).send(errorBody(err instanceof GatewayError ? err.code : 'bad_request', err.message));
  });
  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send(errorBody('not_found', `no route for ${request.method} ${request.url.split('?')[0]}`));
  });

  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    opts.metrics.httpRequests.inc({ method: request.method, route, status: reply.statusCode });
    opts.metrics.httpRequestSeconds.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    done();
  });
  addSecurityHeaders(app);
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    let reachable = true;
    try {
      await opts.store.ping();
    } catch (err) {
      reachable = false;
      reply.log.warn({ err }, 'store not ready');
    }
    // Degraded: telemetry is accepted and kept in the spool, but the store lags
    // behind (or is down) until the spool is replayed. 503 whenever the store
    // does not answer, as API reads fail then.
    const spool = opts.spool();
    const status = spool.spooling ? 'degraded' : reachable ? 'ready' : 'unavailable';
    return reply.status(reachable ? 200 : 503).send({
      status, store: opts.store.kind, pendingReadings: opts.pendingReadings(), spooledReadings: spool.readings,
    });
  });
  app.get('/metrics', async (_request, reply) => {
    reply.type(opts.metrics.registry.contentType);
    return opts.metrics.registry.metrics();
  });

  await app.register(async (api) => {
    addRateLimit(api, opts.httpRate, opts.metrics);
    api.addHook('onSend', async (_request, reply) => {
      reply.header('cache-control', 'no-store');
    });
    registerAdminRoutes(api, opts);
    registerShadowRoutes(api, opts);
    registerGatewayStats(api, opts);
    registerDeviceRoutes(api, opts);
    registerSeriesRoutes(api, opts);
    registerStreamRoutes(api, { ...opts, heartbeatMs: opts.sseHeartbeatMs });
  }, { prefix: '/api' });

  if (fs.existsSync(opts.dashboardDir)) {
    await app.register(fastifyStatic, { root: opts.dashboardDir, prefix: '/' });
  } else {
    opts.logger.warn({ dashboardDir: opts.dashboardDir }, 'dashboard not built; run `npm run build` to serve it');
  }
  return app;
}
