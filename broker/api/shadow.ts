// HTTP access to device shadows for apps (and the dashboard's commands):
// GET answers the document with its delta; POST applies an update exactly as
// one over MQTT would, so the device gets its /delta. Writing goes through
// the admin guard: setting a device's desired state is a command.
import type { FastifyInstance } from 'fastify';
import { RequestError } from '../errors.js';
import type { ShadowError } from '../shadow/document.js';
import type { ShadowService } from '../shadow/service.js';
import { deviceParams, type DeviceParams } from './params.js';
import { adminGuard } from './security.js';

const CODES: Record<ShadowError['code'], string> = {
  400: 'bad_shadow_update',
  404: 'no_shadow',
  409: 'version_conflict',
  413: 'shadow_too_large',
};

function toRequestError(error: ShadowError): RequestError {
  return new RequestError(CODES[error.code], error.message, error.code);
}

export function registerShadowRoutes(api: FastifyInstance, opts: { shadows: ShadowService; adminToken: string | null }): void {
  const { shadows } = opts;

  api.get<{ Params: DeviceParams }>('/devices/:id/shadow', { schema: { params: deviceParams } }, async (request) => {
    const answer = shadows.get(request.params.id);
    if (!answer.ok) throw toRequestError(answer.error);
    return answer.body;
  });

  api.post<{ Params: DeviceParams; Body: unknown }>('/devices/:id/shadow', {
    schema: { params: deviceParams },
    onRequest: adminGuard(opts.adminToken),
    bodyLimit: 32 * 1024,
  }, async (request) => {
    const answer = shadows.update(request.params.id, request.body);
    if (!answer.ok) throw toRequestError(answer.error);
    return answer.body;
  });
}
