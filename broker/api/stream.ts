// Server-Sent Events: one event per stored point of a series, pushed after
// each commit. The event id is the store cursor just after that point, so a
// reconnecting EventSource (Last-Event-ID) resumes with no gap and no repeat.
import type { FastifyInstance } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { Metrics } from '../metrics.js';
import type { TelemetryStore } from '../store/store.js';
import type { SeriesNotifier } from './notifier.js';
import { CapacityError, cursorProperty, metricRouteSchema, notFound, type DeviceParams } from './params.js';

export interface StreamRouteOptions {
  store: TelemetryStore;
  notifier: SeriesNotifier;
  metrics: Metrics;
  maxStreams: number;
  heartbeatMs: number;
}

interface StreamQuerystring {
  metric: string;
  after?: string;
}

const PAGE = 1000;

/** Resolves once the socket buffer drains, or the connection closes, so a slow reader holds back only its own stream. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

export function registerStreamRoutes(api: FastifyInstance, opts: StreamRouteOptions): void {
  const { store, notifier, metrics, maxStreams, heartbeatMs } = opts;
  const streams = new Set<ServerResponse>();
  api.addHook('preClose', async () => {
    // Destroyed, not ended: an ended stream leaves its socket as a keep-alive
    // connection that server.close() waits on. EventSource reconnects either way.
    for (const res of streams) res.socket?.destroy();
  });

  api.get<{ Params: DeviceParams; Querystring: StreamQuerystring }>('/devices/:id/stream', {
    schema: metricRouteSchema({ after: cursorProperty }),
  }, async (request, reply) => {
    const { id } = request.params;
    const { metric } = request.query;
    const lastEventId = request.headers['last-event-id'];
    const resumeFrom = (typeof lastEventId === 'string' && lastEventId !== '' ? lastEventId : undefined) ?? request.query.after;
    if (streams.size >= maxStreams) {
      metrics.httpRefused.inc({ kind: 'sse' });
      reply.header('retry-after', '1');
      throw new CapacityError('event streams', maxStreams);
    }
    // Without a cursor the stream starts at the newest stored point: it pushes what comes next.
    const head = await store.querySeries({ deviceId: id, metric, after: resumeFrom, limit: resumeFrom === undefined ? 1 : PAGE });
    if (!head) throw await notFound(store, id, metric);

    const res = reply.raw;
    reply.hijack();
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 1000\n\n');
    streams.add(res);
    metrics.httpStreamsOpen.set(streams.size);

    let cursor = resumeFrom === undefined ? head.cursor : resumeFrom;
    let pumping = false;
    let again = false;
    const pump = async (): Promise<void> => {
      if (pumping) {
        again = true;
        return;
      }
      pumping = true;
      try {
        do {
          again = false;
          for (;;) {
            const page = await store.querySeries({ deviceId: id, metric, after: cursor, limit: PAGE });
            if (!page || page.points.length === 0 || res.destroyed) break;
            let ok = true;
            page.points.forEach((point, i) => {
              ok = res.write(`id: ${page.cursors[i]}\ndata: ${JSON.stringify(point)}\n\n`);
            });
            cursor = page.cursor;
            if (!ok) await drained(res);
          }
        } while (again && !res.destroyed);
      } catch (err) {
        request.log.warn({ err }, 'event stream read failed; closing it so the client resumes');
        res.destroy();
      } finally {
        pumping = false;
      }
    };

    const unsubscribe = notifier.subscribe(id, metric, () => void pump());
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), heartbeatMs);
    const cleanup = () => {
      if (!streams.delete(res)) return;
      unsubscribe();
      clearInterval(heartbeat);
      metrics.httpStreamsOpen.set(streams.size);
    };
    // Both: a hijacked response does not always see its socket close.
    res.once('close', cleanup);
    res.socket?.once('close', cleanup);
    // A resumed stream may already be behind: send what it missed at once.
    if (resumeFrom !== undefined) void pump();
  });
}
