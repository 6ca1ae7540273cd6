import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pollSource } from '../../dashboard/poll-source.js';
import { fakeHttp, hang, json, page, recorder, row, scripted, target } from './dashboard-fakes.js';

const T = 1_764_000_100_000;

describe('dashboard short-poll source', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('first loads the newest points as backfill, then passes the cursor back each interval', async () => {
    const api = scripted([() => page([1, 2]), () => page([], '2'), () => page([3])]);
    const rec = recorder();
    const source = pollSource({ ...target, http: api.env, intervalMs: () => 1000, limit: 50 }, rec.handlers);
    source.start();
    await vi.advanceTimersByTimeAsync(2500);

    expect(api.urls).toEqual([
      'series?metric=temperature&limit=50',
      'series?metric=temperature&after=2&limit=50',
      'series?metric=temperature&after=2&limit=50',
    ]);
    expect(rec.batches.map((b) => [b.seqs, b.backfill])).toEqual([[[1, 2], true], [[3], false]]);
    expect(rec.batches[1]!.points[0]).toEqual({
      ts: row(3)[0], value: 23, seq: 3, receivedAt: row(3)[3], storedAt: row(3)[4], arrivedAt: T + 2000,
    });
    expect(rec.statuses.map(([s]) => s)).toEqual(['connecting', 'open', 'open', 'open']);
    const c = source.counters;
    expect(c).toMatchObject({ points: 3, backfilled: 2, requests: 3, responses: 3, emptyResponses: 1, errors: 0 });
    // Head and body of each response: more than the bodies alone, and the first (backfill) response on its own.
    expect(c.backfillBytes).toBeGreaterThan(JSON.stringify({ points: [row(1), row(2)], cursor: '2' }).length);
    expect(c.bytes).toBeGreaterThan(c.backfillBytes + 2 * 40);
    source.stop();
  });

  it('keeps the cursor through a failed request and reports the API error', async () => {
    const api = scripted([
      () => page([1]),
      () => json({ error: { code: 'unknown_metric', message: 'no metric temperature' } }, 404),
      () => page([2]),
    ]);
    const rec = recorder();
    const source = pollSource({ ...target, http: api.env, intervalMs: () => 1000, limit: 50 }, rec.handlers);
    source.start();
    await vi.advanceTimersByTimeAsync(2000);

    expect(api.urls.slice(1)).toEqual(['series?metric=temperature&after=1&limit=50', 'series?metric=temperature&after=1&limit=50']);
    expect(rec.statuses.filter(([s]) => s === 'error').map(([, d]) => d)).toEqual(['404 unknown_metric: no metric temperature']);
    expect(rec.seqs()).toEqual([1, 2]);
    expect(source.counters.errors).toBe(1);
    source.stop();
  });

  it('retries a failed first load as a backfill, and treats a malformed answer as an error', async () => {
    const api = scripted([() => json({ points: [['x', 1]], cursor: '1' }), () => page([1])]);
    const rec = recorder();
    const source = pollSource({ ...target, http: api.env, intervalMs: () => 1000, limit: 50 }, rec.handlers);
    source.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(source.status).toBe('error');
    expect(rec.batches).toEqual([]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(api.urls).toEqual(['series?metric=temperature&limit=50', 'series?metric=temperature&limit=50']);
    expect(rec.batches.map((b) => b.backfill)).toEqual([true]);
    source.stop();
  });

  it('never overlaps requests: a slow answer delays the next one', async () => {
    let release: (r: Response) => void = () => undefined;
    const api = fakeHttp(() => new Promise<Response>((resolve) => (release = resolve)));
    const source = pollSource({ ...target, http: api.env, intervalMs: () => 1000, limit: 50 }, recorder().handlers);
    source.start();
    await vi.advanceTimersByTimeAsync(5000);
    expect(api.fetch).toHaveBeenCalledTimes(1);
    release(page([], '0'));
    await vi.advanceTimersByTimeAsync(0);
    expect(api.fetch).toHaveBeenCalledTimes(2);
    source.stop();
  });

  it('reads the interval before every wait, so a control can change it while polling', async () => {
    let interval = 1000;
    const api = fakeHttp(() => page([], '0'));
    const source = pollSource({ ...target, http: api.env, intervalMs: () => interval, limit: 50 }, recorder().handlers);
    source.start();
    await vi.advanceTimersByTimeAsync(2500);
    expect(api.fetch).toHaveBeenCalledTimes(3);
    interval = 250;
    await vi.advanceTimersByTimeAsync(1000);
    // The wait already scheduled at 1000 ms runs out at 3000; then every 250 ms: 3000, 3250, 3500.
    expect(api.fetch).toHaveBeenCalledTimes(6);
    source.stop();
  });

  it('stops, then resumes from its cursor as a backfill; a full page means too much was missed, so the newest are loaded', async () => {
    const api = scripted([() => page([1, 2]), () => page([3, 4]), () => page([5, 6])]);
    const rec = recorder();
    const source = pollSource({ ...target, http: api.env, intervalMs: () => 1000, limit: 2 }, rec.handlers);
    source.start();
    await vi.advanceTimersByTimeAsync(0);
    source.stop();
    expect(source.status).toBe('stopped');
    await vi.advanceTimersByTimeAsync(5000);
    expect(api.fetch).toHaveBeenCalledTimes(1);

    source.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(api.urls).toEqual([
      'series?metric=temperature&limit=2',
      'series?metric=temperature&after=2&limit=2',
      'series?metric=temperature&limit=2',
    ]);
    expect(rec.batches.map((b) => [b.seqs, b.backfill])).toEqual([[[1, 2], true], [[5, 6], true]]);
    source.stop();
  });

  it('aborts the request in flight on stop and ignores its answer', async () => {
    let signal: AbortSignal | null | undefined;
    const api = fakeHttp((_url, s) => {
      signal = s;
      return hang(s);
    });
    const rec = recorder();
    const source = pollSource({ ...target, http: api.env, intervalMs: () => 1000, limit: 50 }, rec.handlers);
    source.start();
    source.stop();
    await vi.advanceTimersByTimeAsync(5000);
    expect(signal?.aborted).toBe(true);
    expect(api.fetch).toHaveBeenCalledTimes(1);
    expect(rec.statuses.map(([s]) => s)).toEqual(['connecting', 'stopped']);
    expect(source.counters.errors).toBe(0);
  });
});
