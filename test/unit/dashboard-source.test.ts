import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pollSource, type PointBatch, type SourcePoint, type SourceStatus } from '../../dashboard/source.js';

type Row = [number, number, number | null, number, number];

/** A stand-in for the gateway's series endpoint: answers queued bodies in order and records the URLs asked for. */
function fakeApi(answers: { status?: number; body: unknown }[]) {
  const urls: string[] = [];
  const fetchFn = vi.fn(async (input: string | URL | Request, init?: RequestInit) => {
    urls.push(String(input));
    const answer = answers.shift();
    if (!answer) return new Promise<Response>(() => init?.signal?.addEventListener('abort', () => undefined));
    return new Response(JSON.stringify(answer.body), { status: answer.status ?? 200 });
  });
  return { urls, fetch: fetchFn as unknown as typeof fetch };
}

function recorder() {
  const batches: { points: SourcePoint[]; batch: PointBatch }[] = [];
  const statuses: SourceStatus[] = [];
  return {
    batches,
    statuses,
    handlers: {
      onPoints: (points: SourcePoint[], batch: PointBatch) => batches.push({ points, batch }),
      onStatus: (status: SourceStatus) => statuses.push(status),
    },
  };
}

const row = (seq: number): Row => [1_764_000_000_000 + seq * 1000, 20 + seq, seq, 1_764_000_000_010 + seq * 1000, 1_764_000_000_020 + seq * 1000];
const target = { deviceId: 'dev-1', metric: 'temperature', baseUrl: 'http://gw', intervalMs: 1000 };

describe('dashboard poll source', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_764_000_100_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('first asks for the newest points, then passes the cursor back each interval', async () => {
    const api = fakeApi([
      { body: { points: [row(1), row(2)], cursor: '2' } },
      { body: { points: [], cursor: '2' } },
      { body: { points: [row(3)], cursor: '3' } },
    ]);
    const rec = recorder();
    const source = pollSource({ ...target, fetch: api.fetch }, rec.handlers);
    source.start();
    await vi.advanceTimersByTimeAsync(2500);

    expect(api.urls).toEqual([
      'http://gw/api/devices/dev-1/series?metric=temperature',
      'http://gw/api/devices/dev-1/series?metric=temperature&after=2',
      'http://gw/api/devices/dev-1/series?metric=temperature&after=2',
    ]);
    expect(rec.batches.map((b) => [b.points.map((p) => p.seq), b.batch.backfill])).toEqual([
      [[1, 2], true],
      [[3], false],
    ]);
    expect(rec.batches[1]!.points[0]).toEqual({
      ts: row(3)[0], value: 23, seq: 3, receivedAt: row(3)[3], storedAt: row(3)[4], arrivedAt: 1_764_000_102_000,
    });
    expect(rec.statuses).toEqual(['connecting', 'open', 'open', 'open']);
    const counters = source.counters;
    expect(counters).toMatchObject({ points: 3, requests: 3, messages: 3, errors: 0 });
    expect(counters.bytes).toBeGreaterThan(100);
    source.stop();
  });

  it('keeps the cursor through a failed request and reports the API error', async () => {
    const api = fakeApi([
      { body: { points: [row(1)], cursor: '1' } },
      { status: 404, body: { error: { code: 'unknown_metric', message: 'no metric temperature' } } },
      { body: { points: [row(2)], cursor: '2' } },
    ]);
    const rec = recorder();
    const errors: string[] = [];
    const source = pollSource({ ...target, fetch: api.fetch }, {
      ...rec.handlers,
      onStatus: (status, detail) => status === 'error' && errors.push(detail),
    });
    source.start();
    await vi.advanceTimersByTimeAsync(2000);

    expect(api.urls.slice(1)).toEqual([
      'http://gw/api/devices/dev-1/series?metric=temperature&after=1',
      'http://gw/api/devices/dev-1/series?metric=temperature&after=1',
    ]);
    expect(errors).toEqual(['404 unknown_metric: no metric temperature']);
    expect(rec.batches.map((b) => b.points.map((p) => p.seq))).toEqual([[1], [2]]);
    expect(source.counters.errors).toBe(1);
    source.stop();
  });

  it('treats a malformed answer as an error, not as points', async () => {
    const api = fakeApi([{ body: { points: [['x', 1]], cursor: '1' } }]);
    const rec = recorder();
    const source = pollSource({ ...target, fetch: api.fetch }, rec.handlers);
    source.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(rec.batches).toEqual([]);
    expect(source.status).toBe('error');
    source.stop();
  });

  it('never overlaps requests: a slow answer delays the next one', async () => {
    let release: (r: Response) => void = () => undefined;
    const fetchFn = vi.fn(() => new Promise<Response>((resolve) => (release = resolve)));
    const source = pollSource({ ...target, fetch: fetchFn as unknown as typeof fetch }, recorder().handlers);
    source.start();
    await vi.advanceTimersByTimeAsync(5000);
    expect(fetchFn).toHaveBeenCalledTimes(1);
    release(new Response(JSON.stringify({ points: [], cursor: '0' })));
    await vi.advanceTimersByTimeAsync(0);
    expect(fetchFn).toHaveBeenCalledTimes(2);
    source.stop();
  });

  it('stops: aborts the request in flight and schedules no more', async () => {
    let signal: AbortSignal | undefined;
    const fetchFn = vi.fn((_url: string, init: RequestInit) => {
      signal = init.signal ?? undefined;
      return new Promise<Response>(() => undefined);
    });
    const rec = recorder();
    const source = pollSource({ ...target, fetch: fetchFn as unknown as typeof fetch }, rec.handlers);
    source.start();
    source.stop();
    await vi.advanceTimersByTimeAsync(5000);
    expect(signal?.aborted).toBe(true);
    expect(fetchFn).toHaveBeenCalledTimes(1);
    expect(source.status).toBe('stopped');
    expect(rec.statuses).toEqual(['connecting', 'stopped']);
  });

  it('passes a limit when one is set', async () => {
    const api = fakeApi([{ body: { points: [], cursor: '0' } }]);
    const source = pollSource({ ...target, limit: 50, fetch: api.fetch }, recorder().handlers);
    source.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(api.urls[0]).toBe('http://gw/api/devices/dev-1/series?metric=temperature&limit=50');
    source.stop();
  });
});
