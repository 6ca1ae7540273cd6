// One measurement phase: a method's clients on the shared device stream (or
// none, for the ingest-only baseline), warmed up, measured over a fixed window
// with the gateway's CPU read at both ends, then drained so every reading
// published in the window can be checked off per client.
import { createSource, methodInfo, type MethodId, type MethodSettings, type SourceIo } from '../dashboard/methods.js';
import { emptyCounters, type Source, type SourceCounters, type SourcePoint } from '../dashboard/source.js';
import { HOPS, hopDurations } from '../dashboard/stats.js';
import { cpuSeconds } from './gateway-process.js';
import type { Publishers } from './publisher.js';
import type { Baseline, ClientDeliveries, PhaseMeasure } from './report.js';
import { checkDelivery } from './report.js';

export interface PhaseContext {
  httpUrl: string;
  io: SourceIo;
  settings: MethodSettings;
  ids: readonly string[];
  metric: string;
  publishers: Publishers;
  clients: number;
  windowMs: number;
  signal?: AbortSignal;
}

const WARMUP_TIMEOUT_MS = 15_000;
const SETTLE_MS = 500;
const STALENESS_SAMPLE_MS = 100;

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

async function until(check: () => boolean, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await sleep(50, signal);
  }
  return true;
}

function subtract(a: SourceCounters, b: SourceCounters): SourceCounters {
  const out = emptyCounters();
  for (const key of Object.keys(out) as (keyof SourceCounters)[]) out[key] = a[key] - b[key];
  return out;
}

function sum(all: readonly SourceCounters[]): SourceCounters {
  const out = emptyCounters();
  for (const c of all) for (const key of Object.keys(out) as (keyof SourceCounters)[]) out[key] += c[key];
  return out;
}

export async function measureBaseline(ctx: PhaseContext): Promise<Baseline> {
  const cpu0 = await cpuSeconds(ctx.httpUrl);
  const t0 = Date.now();
  await sleep(ctx.windowMs, ctx.signal);
  const cpu1 = await cpuSeconds(ctx.httpUrl);
  return { windowMs: Date.now() - t0, cpuSeconds: cpu1 - cpu0 };
}

/** What one client received; its source is kept alongside, at the same index. */
interface Client {
  deviceId: string;
  fromSeq: number;
  toSeq: number;
  delivered: Map<number, number>;
  newestTs: number | null;
  live: number;
}

export async function measureMethod(method: MethodId, ctx: PhaseContext): Promise<PhaseMeasure> {
  const { path } = methodInfo(method);
  const delays: number[] = [];
  const staleness: number[] = [];
  const hops: number[][] = HOPS[path].slice(0, -1).map(() => []);
  let windowOpen = false;

  const record = (client: Client, points: SourcePoint[], backfill: boolean) => {
    for (const p of points) {
      if (p.seq !== null) client.delivered.set(p.seq, (client.delivered.get(p.seq) ?? 0) + 1);
      if (client.newestTs === null || p.ts > client.newestTs) client.newestTs = p.ts;
      if (backfill) continue;
      client.live++;
      if (!windowOpen) continue;
      delays.push(p.arrivedAt - p.ts);
      hopDurations(path, p)?.forEach((d, i) => hops[i]!.push(d));
    }
  };

  const clients: Client[] = Array.from({ length: ctx.clients }, (_, i) => {
    const deviceId = ctx.ids[i % ctx.ids.length]!;
    return { deviceId, fromSeq: ctx.publishers.lastSeq(deviceId), toSeq: 0, delivered: new Map(), newestTs: null, live: 0 };
  });
  const sources: Source[] = clients.map((client) =>
    createSource(method, { deviceId: client.deviceId, metric: ctx.metric }, ctx.io, ctx.settings, {
      onPoints: (points, batch) => record(client, points, batch.backfill),
    }));

  let sampler: ReturnType<typeof setInterval> | undefined;
  try {
    for (const s of sources) s.start();
    const warm = await until(() => clients.every((c, i) => sources[i]!.status === 'open' && c.live > 0), WARMUP_TIMEOUT_MS, ctx.signal);
    if (!warm) throw new Error(`${method}: not every client was receiving after ${WARMUP_TIMEOUT_MS} ms`);
    await sleep(SETTLE_MS, ctx.signal);

    const before = sources.map((s) => s.counters);
    const cpu0 = await cpuSeconds(ctx.httpUrl);
    const t0 = Date.now();
    windowOpen = true;
    sampler = setInterval(() => {
      const now = Date.now();
      for (const c of clients) if (c.newestTs !== null) staleness.push(now - c.newestTs);
    }, STALENESS_SAMPLE_MS);
    await sleep(ctx.windowMs, ctx.signal);
    clearInterval(sampler);
    windowOpen = false;
    const cpu1 = await cpuSeconds(ctx.httpUrl);
    const windowMs = Date.now() - t0;
    const delta = sum(sources.map((s, i) => subtract(s.counters, before[i]!)));

    // Everything published up to the end of the window must arrive; a poll may need one more interval for it.
    for (const c of clients) c.toSeq = ctx.publishers.lastSeq(c.deviceId);
    await until(() => clients.every((c) => c.delivered.has(c.toSeq)), 5_000 + ctx.settings.pollIntervalMs(), ctx.signal);
    const deliveries: ClientDeliveries[] = clients.map((c) => ({ fromSeq: c.fromSeq, toSeq: c.toSeq, delivered: c.delivered }));
    return {
      method, clients: ctx.clients, windowMs, cpuSeconds: cpu1 - cpu0, delta, delays, staleness, hops,
      delivery: checkDelivery(deliveries),
    };
  } finally {
    clearInterval(sampler);
    for (const s of sources) s.stop();
  }
}
