// GET /api/gateway: the gateway's own figures for the dashboard, read from the
// same Prometheus counters /metrics exposes, so both always agree.
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../metrics.js';

export interface GatewayStatsOptions {
  metrics: Metrics;
  /** Clients that lost the most QoS 0 messages to overload. */
  topShedders: () => Array<{ clientId: string; shed: number }>;
  pendingReadings: () => number;
  spool: () => { spooling: boolean; readings: number; bytes: number };
}

type Sample = { labels: Partial<Record<string, string | number>>; value: number };

async function samples(metric: { get(): Promise<{ values: Sample[] }> }): Promise<Sample[]> {
  return (await metric.get()).values;
}

async function byLabel(metric: { get(): Promise<{ values: Sample[] }> }, label: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const s of await samples(metric)) out[String(s.labels[label])] = (out[String(s.labels[label])] ?? 0) + s.value;
  return out;
}

async function total(metric: { get(): Promise<{ values: Sample[] }> }): Promise<number> {
  return (await samples(metric)).reduce((sum, s) => sum + s.value, 0);
}

export function registerGatewayStats(api: FastifyInstance, opts: GatewayStatsOptions): void {
  const { metrics } = opts;
  api.get('/gateway', async () => {
    const memory = process.memoryUsage();
    return {
      // When the counters were read (ms since the epoch): a rate computed from the
      // client's receive times would also count how long the answer took to come.
      at: Date.now(),
      connections: await byLabel(metrics.mqttConnections, 'transport'),
      readings: {
        accepted: await total(metrics.readingsAccepted),
        stored: await total(metrics.readingsStored),
        rejected: await byLabel(metrics.readingsRejected, 'reason'),
        pending: opts.pendingReadings(),
        spool: opts.spool(),
      },
      dropped: await byLabel(metrics.mqttDropped, 'reason'),
      forwardDropped: await total(metrics.mqttForwardDropped),
      inFlight: await byLabel(metrics.mqttInFlight, 'state'),
      topShedders: opts.topShedders(),
      memory: { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed, pressure: (await total(metrics.memoryPressure)) > 0 },
    };
  });
}
