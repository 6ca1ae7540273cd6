// Device routes: the list, the stored series after a cursor (short polling)
// and downsampled history. Parameters are schema-validated; anything else a
// client can get wrong becomes a RequestError with a stable code.
import type { FastifyInstance } from 'fastify';
import { METRIC_NAME_PATTERN } from '../contract/telemetry.js';
import { DEVICE_ID_PATTERN } from '../contract/topics.js';
import { RequestError } from '../errors.js';
import type { TelemetryStore } from '../store/store.js';

export const SERIES_LIMIT = { default: 1000, max: 10_000 };
export const HISTORY = { defaultWindowMs: 3_600_000, defaultBuckets: 600, maxBuckets: 10_000 };

export interface DeviceRouteOptions {
  store: TelemetryStore;
  isOnline: (deviceId: string) => boolean;
  now?: () => number;
}

const deviceParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: DEVICE_ID_PATTERN.source } },
} as const;

const metricProperty = { type: 'string', pattern: METRIC_NAME_PATTERN.source } as const;

interface SeriesQuerystring {
  metric: string;
  after?: string;
  limit: number;
}

interface HistoryQuerystring {
  metric: string;
  from?: number;
  to?: number;
  step?: number;
}

/** Distinguishes an unknown device from a known device without that metric. */
async function notFound(store: TelemetryStore, deviceId: string, metric: string): Promise<RequestError> {
  const device = await store.getDevice(deviceId);
  return device
    ? new RequestError('unknown_metric', `device ${deviceId} has no metric ${metric}; it has ${device.metrics.join(', ')}`, 404)
    : new RequestError('unknown_device', `no device ${deviceId} has stored telemetry`, 404);
}

export function registerDeviceRoutes(api: FastifyInstance, opts: DeviceRouteOptions): void {
  const { store, isOnline } = opts;
  const now = opts.now ?? Date.now;

  api.get('/devices', async () => {
    const devices = await store.listDevices();
    return { devices: devices.map((d) => ({ ...d, online: isOnline(d.id) })) };
  });

  api.get<{ Params: { id: string }; Querystring: SeriesQuerystring }>('/devices/:id/series', {
    schema: {
      params: deviceParams,
      querystring: {
        type: 'object',
        required: ['metric'],
        additionalProperties: false,
        properties: {
          metric: metricProperty,
          after: { type: 'string', maxLength: 32 },
          limit: { type: 'integer', minimum: 1, maximum: SERIES_LIMIT.max, default: SERIES_LIMIT.default },
        },
      },
    },
  }, async (request) => {
    const { id } = request.params;
    const { metric, after, limit } = request.query;
    const page = await store.querySeries({ deviceId: id, metric, after, limit });
    if (!page) throw await notFound(store, id, metric);
    return { deviceId: id, metric, ...page };
  });

  api.get<{ Params: { id: string }; Querystring: HistoryQuerystring }>('/devices/:id/history', {
    schema: {
      params: deviceParams,
      querystring: {
        type: 'object',
        required: ['metric'],
        additionalProperties: false,
        properties: {
          metric: metricProperty,
          from: { type: 'integer', minimum: 0 },
          to: { type: 'integer', minimum: 0 },
          step: { type: 'integer', minimum: 1 },
        },
      },
    },
  }, async (request) => {
    const { id } = request.params;
    const { metric } = request.query;
    const to = request.query.to ?? now();
    const from = request.query.from ?? to - HISTORY.defaultWindowMs;
    if (from >= to) throw new RequestError('bad_range', '`from` must be before `to`');
    const step = request.query.step ?? Math.max(1, Math.ceil((to - from) / HISTORY.defaultBuckets));
    if ((to - from) / step > HISTORY.maxBuckets) {
      throw new RequestError('too_many_buckets', `at most ${HISTORY.maxBuckets} buckets: raise \`step\` or narrow the range`);
    }
    const points = await store.queryHistory({ deviceId: id, metric, from, to, stepMs: step });
    if (!points) throw await notFound(store, id, metric);
    return { deviceId: id, metric, from, to, step, points };
  });
}
