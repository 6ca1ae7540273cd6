// Short and long polling of a stored series. Without `wait` the answer is
// immediate (short polling); with `wait=N` an empty answer is held until the
// store commits a point of this series or N seconds pass (long polling).
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../metrics.js';
import type { SeriesPage, TelemetryStore } from '../store/store.js';
import type { SeriesNotifier, Waiter } from './notifier.js';
import { CapacityError, cursorProperty, metricRouteSchema, notFound, type DeviceParams } from './params.js';

export const SERIES_LIMIT = { default: 1000, max: 10_000 };
export const MAX_WAIT_SECONDS = 60;

export interface SeriesRouteOptions {
  store: TelemetryStore;
  notifier: SeriesNotifier;
  metrics: Metrics;
  maxLongPolls: number;
}

interface SeriesQuerystring {
  metric: string;
  after?: string;
  limit: number;
  wait?: number;
}

function answer(deviceId: string, metric: string, page: SeriesPage) {
  return { deviceId, metric, points: page.points, cursor: page.cursor };
}

export function registerSeriesRoutes(api: FastifyInstance, { store, notifier, metrics, maxLongPolls }: SeriesRouteOptions): void {
  let open = 0;
  const waiting = new Set<Waiter>();
  // Held requests would keep fastify's close waiting for up to a minute.
  api.addHook('preClose', async () => {
    for (const waiter of waiting) waiter.cancel();
  });

  api.get<{ Params: DeviceParams; Querystring: SeriesQuerystring }>('/devices/:id/series', {
    schema: metricRouteSchema({
      after: cursorProperty,
      limit: { type: 'integer', minimum: 1, maximum: SERIES_LIMIT.max, default: SERIES_LIMIT.default },
      wait: { type: 'integer', minimum: 0, maximum: MAX_WAIT_SECONDS },
    }),
  }, async (request, reply) => {
    const { id } = request.params;
    const { metric, after, limit, wait } = request.query;
    if (!wait) {
      const page = await store.querySeries({ deviceId: id, metric, after, limit });
      if (!page) throw await notFound(store, id, metric);
      return answer(id, metric, page);
    }

    if (open >= maxLongPolls) {
      metrics.httpRefused.inc({ kind: 'long_poll' });
      reply.header('retry-after', '1');
      throw new CapacityError('long polls', maxLongPolls);
    }
    // Waiting starts before the read, so a commit landing in between still wakes us.
    const waiter = notifier.waiter(id, metric, wait * 1000);
    const onClose = () => waiter.cancel();
    reply.raw.once('close', onClose);
    waiting.add(waiter);
    open += 1;
    metrics.httpLongPollsOpen.set(open);
    try {
      const page = await store.querySeries({ deviceId: id, metric, after, limit });
      if (!page) throw await notFound(store, id, metric);
      if (page.points.length > 0) return answer(id, metric, page);
      if (!(await waiter.promise)) return answer(id, metric, page);
      return answer(id, metric, (await store.querySeries({ deviceId: id, metric, after: page.cursor, limit }))!);
    } finally {
      waiter.cancel();
      waiting.delete(waiter);
      reply.raw.off('close', onClose);
      open -= 1;
      metrics.httpLongPollsOpen.set(open);
    }
  });
}
