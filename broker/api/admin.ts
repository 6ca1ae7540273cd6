// Device provisioning (admin) and viewer tokens for browsers.
import type { FastifyInstance } from 'fastify';
import { DEVICE_ID_PATTERN } from '../contract/topics.js';
import type { DeviceRegistry } from '../registry/registry.js';
import { VIEWER_USERNAME, type TokenIssuer } from '../registry/tokens.js';
import { deviceParams, type DeviceParams } from './params.js';
import { adminGuard } from './security.js';
import { MQTT_WS_PATH } from '../mqtt/listeners.js';

export interface AdminRouteOptions {
  registry: DeviceRegistry;
  tokens: TokenIssuer;
  adminToken: string | null;
  /** Closes a device's live MQTT connection, so a revoked or rotated secret stops working at once. */
  disconnect: (deviceId: string) => void;
}

export function registerAdminRoutes(api: FastifyInstance, opts: AdminRouteOptions): void {
  const { registry, tokens, disconnect } = opts;

  api.post('/tokens', async () => {
    const { token, expiresAt } = tokens.issue();
    return { username: VIEWER_USERNAME, token, expiresAt, path: MQTT_WS_PATH };
  });

  api.register(async (admin) => {
    admin.addHook('onRequest', adminGuard(opts.adminToken));

    admin.get('/devices', async () => ({ devices: registry.list() }));

    admin.post<{ Body: { id: string } }>('/devices', {
      schema: {
        body: {
          type: 'object',
          required: ['id'],
          additionalProperties: false,
          properties: { id: { type: 'string', pattern: DEVICE_ID_PATTERN.source } },
        },
      },
    }, async (request, reply) => {
      reply.status(201);
      return registry.create(request.body.id);
    });

    admin.post<{ Params: DeviceParams }>('/devices/:id/rotate', { schema: { params: deviceParams } }, async (request) => {
      const credentials = await registry.rotate(request.params.id);
      disconnect(request.params.id);
      return credentials;
    });

    admin.delete<{ Params: DeviceParams }>('/devices/:id', { schema: { params: deviceParams } }, async (request) => {
      const device = registry.revoke(request.params.id);
      disconnect(request.params.id);
      return { device };
    });
  }, { prefix: '/admin' });
}
