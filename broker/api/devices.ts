// The device list and downsampled history for a chart's window.
import type { FastifyInstance } from 'fastify';
import { RequestError } from '../errors.js';
import type { DevicePresence } from '../mqtt/presence.js';
import type { TelemetryStore } from '../store/store.js';
import { metricRouteSchema, notFound, type DeviceParams } from './params.js';

export const HISTORY = { defaultWindowMs: 3_600_000, defaultBuckets: 600, maxBuckets: 10_000 };

export interface DeviceRouteOptions {
  store: TelemetryStore;
  presence: { of(deviceId: string): DevicePresence | undefined; knownDevices(): string[] };
  now?: () => number;
}

const OFFLINE: DevicePresence = { online: false, connectedAt: null, disconnectedAt: null, disconnectReason: null };

interface HistoryQuerystring {
  metric: string;
  from?: number;
  to?: number;
  step?: number;
}

export function registerDeviceRoutes(api: FastifyInstance, opts: DeviceRouteOptions): void {
  const { store, presence } = opts;
  const now = opts.now ?? Date.now;

  api.get('/devices', async () => {
    const stored = await store.listDevices();
    const known = new Set(stored.map((d) => d.id));
    // Devices that connected but stored nothing yet (a door sensor between events) are listed too.
    const connectedOnly = presence.knownDevices().filter((id) => !known.has(id)).map((id) => ({ id, firstSeen: null, lastSeen: null, metrics: [] }));
    const devices = [...stored, ...connectedOnly].sort((a, b) => a.id.localeCompare(b.id));
    return { devices: devices.map((d) => ({ ...d, ...(presence.of(d.id) ?? OFFLINE) })) };
  });

  api.get<{ Params: DeviceParams; Querystring: HistoryQuerystring }>('/devices/:id/history', {
    schema: metricRouteSchema({
      from: { type: 'integer', minimum: 0 },
      to: { type: 'integer', minimum: 0 },
      step: { type: 'integer', minimum: 1 },
    }),
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
