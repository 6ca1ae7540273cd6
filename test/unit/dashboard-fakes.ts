// Stand-ins for the gateway's series endpoint, for the dashboard source tests:
// real Response objects from a scripted handler, and recorders for what a
// source hands over. The sources themselves run unchanged.
import { vi } from 'vitest';
import { headerMeter } from '../../dashboard/bytes.js';
import type { HttpEnv } from '../../dashboard/http.js';
import type { PointBatch, SourceHandlers, SourcePoint, SourceStatus } from '../../dashboard/source.js';

export type Row = [number, number, number | null, number, number];

export const T0 = 1_764_000_000_000;

/** A stored point with seq `seq`: measured at T0 + seq s, received 10 ms and stored 20 ms later. */
export const row = (seq: number): Row => [T0 + seq * 1000, 20 + seq, seq, T0 + seq * 1000 + 10, T0 + seq * 1000 + 20];

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

export const page = (seqs: number[], cursor = String(seqs.at(-1) ?? 0)) => json({ points: seqs.map(row), cursor });

/** A request that never answers until aborted. */
export function hang(signal?: AbortSignal | null): Promise<Response> {
  return new Promise((_, reject) => signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))));
}

/**
 * An HttpEnv whose fetch answers with `respond(url, signal)`; the URLs asked
 * for are recorded relative to the base, e.g. `series?metric=t&after=2`.
 */
export function fakeHttp(respond: (url: string, signal?: AbortSignal | null) => Response | Promise<Response>) {
  const urls: string[] = [];
  const methods: string[] = [];
  const fetchFn = vi.fn(async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input).replace('http://gw/api/devices/dev-1/', '');
    urls.push(url);
    methods.push(init?.method ?? 'GET');
    return respond(url, init?.signal);
  });
  const env: HttpEnv = { baseUrl: 'http://gw', fetch: fetchFn as unknown as typeof fetch, meter: headerMeter, now: () => Date.now() };
  return { env, urls, methods, fetch: fetchFn };
}

/** Answers queued responses in order; after the queue, requests hang. */
export function scripted(answers: (() => Response)[]) {
  return fakeHttp((_url, signal) => answers.shift()?.() ?? hang(signal));
}

export function recorder() {
  const batches: { seqs: (number | null)[]; backfill: boolean; points: SourcePoint[] }[] = [];
  const statuses: [SourceStatus, string][] = [];
  const handlers: SourceHandlers = {
    onPoints: (points: SourcePoint[], batch: PointBatch) => batches.push({ seqs: points.map((p) => p.seq), backfill: batch.backfill, points }),
    onStatus: (status, detail) => statuses.push([status, detail]),
  };
  return {
    batches,
    statuses,
    handlers,
    /** Every delivered seq in delivery order. */
    seqs: () => batches.flatMap((b) => b.seqs),
  };
}

export const target = { deviceId: 'dev-1', metric: 'temperature' };
