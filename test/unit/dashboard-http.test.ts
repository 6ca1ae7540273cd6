import { describe, expect, it } from 'vitest';
import { backfill, CATCH_UP_FIRST, catchUp, getSeries, HttpError, parseStoredPoint, reaches, viewerToken } from '../../dashboard/http.js';
import { emptyCounters } from '../../dashboard/source.js';
import { fakeHttp, json, page, row, target } from './dashboard-fakes.js';

/** A store of points 1..n: answers `limit`/`after` as the gateway does. */
function store(n: number) {
  return fakeHttp((url) => {
    const q = new URLSearchParams(url.split('?')[1]);
    const limit = Number(q.get('limit') ?? 1000);
    const after = q.get('after');
    const all = Array.from({ length: n }, (_, i) => i + 1);
    const seqs = after === null ? all.slice(-limit) : all.filter((s) => s > Number(after)).slice(0, limit);
    return page(seqs, String(seqs.at(-1) ?? after ?? 0));
  });
}

describe('dashboard series reads', () => {
  it('parses stored points, keeping a null seq and leaving out stamps that are not numbers', () => {
    expect(parseStoredPoint([5, 1.5, null, 7, 8], 9)).toEqual({ ts: 5, value: 1.5, seq: null, receivedAt: 7, storedAt: 8, arrivedAt: 9 });
    expect(parseStoredPoint([5, 1.5, 3], 9)).toEqual({ ts: 5, value: 1.5, seq: 3, arrivedAt: 9 });
    expect(() => parseStoredPoint([5, '1'], 9)).toThrow(/malformed/);
    expect(() => parseStoredPoint({ ts: 5 }, 9)).toThrow(/malformed/);
  });

  it('counts each GET, its empty answers, and its bytes (backfill bytes also apart)', async () => {
    const api = fakeHttp(() => page([]));
    const counters = emptyCounters();
    await getSeries(api.env, target, { after: '4' }, counters);
    await getSeries(api.env, target, { after: '4' }, counters, undefined, true);
    await Promise.resolve();
    expect(counters).toMatchObject({ requests: 2, responses: 2, emptyResponses: 2 });
    expect(counters.backfillBytes).toBeGreaterThan(0);
    expect(counters.bytes).toBe(2 * counters.backfillBytes);
  });

  it('turns a 503 into an HttpError carrying Retry-After', async () => {
    const api = fakeHttp(() => json({ error: { code: 'over_capacity', message: 'full' } }, 503, { 'retry-after': '2' }));
    const counters = emptyCounters();
    const err = await getSeries(api.env, target, {}, counters).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect(err).toMatchObject({ status: 503, retryAfterMs: 2000, message: '503 over_capacity: full' });
    expect(counters).toMatchObject({ requests: 1, responses: 0 });
  });

  it('backfills the newest points without a cursor, what came after a cursor, or the newest when too much came after', async () => {
    const api = store(10);
    const c = emptyCounters();
    expect((await backfill(api.env, target, null, 3, c)).points.map((p) => p.seq)).toEqual([8, 9, 10]);
    expect((await backfill(api.env, target, '8', 3, c)).points.map((p) => p.seq)).toEqual([9, 10]);
    expect((await backfill(api.env, target, '2', 3, c)).points.map((p) => p.seq)).toEqual([8, 9, 10]);
    expect(api.urls.slice(1)).toEqual(['series?metric=temperature&after=8&limit=3', 'series?metric=temperature&after=2&limit=3', 'series?metric=temperature&limit=3']);
  });

  it('decides whether a page of the newest points reaches back to the last point held', () => {
    const points = [3, 4, 5].map((s) => parseStoredPoint(row(s), 0));
    expect(reaches(points, parseStoredPoint(row(4), 0))).toBe(true);
    expect(reaches(points, parseStoredPoint(row(2), 0))).toBe(false);
    // Same timestamp, another seq (a device that restarted its counter): not the point held.
    expect(reaches(points.slice(1), { ts: row(4)[0], seq: 99 })).toBe(false);
  });

  it('catches up in pages growing 4x until they reach the last point held', async () => {
    const api = store(1000);
    const c = emptyCounters();
    const last = parseStoredPoint(row(800), 0);
    const caught = await catchUp(api.env, target, last, 2000, c);
    expect(api.urls).toEqual([
      `series?metric=temperature&limit=${CATCH_UP_FIRST}`,
      `series?metric=temperature&limit=${CATCH_UP_FIRST * 4}`,
    ]);
    expect(caught.points[0]!.seq).toBe(1000 - CATCH_UP_FIRST * 4 + 1);
    expect(caught.points.some((p) => p.seq === 801)).toBe(true);
  });

  it('stops catching up at the limit, at a short page, and loads the newest `limit` without a last point', async () => {
    const api = store(1000);
    const c = emptyCounters();
    await catchUp(api.env, target, parseStoredPoint(row(1), 0), 100, c);
    expect(api.urls).toEqual(['series?metric=temperature&limit=64', 'series?metric=temperature&limit=100']);
    const small = store(10);
    expect((await catchUp(small.env, target, parseStoredPoint(row(-5), 0), 100, c)).points).toHaveLength(10);
    expect(small.urls).toHaveLength(1);
    const fresh = store(10);
    await catchUp(fresh.env, target, null, 5, c);
    expect(fresh.urls).toEqual(['series?metric=temperature&limit=5']);
  });

  it('asks for a viewer token with a POST, counted like any request, and refuses a malformed answer', async () => {
    const answers = [
      () => json({ username: '$viewer', token: 'abc.def', expiresAt: 1, path: '/mqtt' }),
      () => json({ username: '$viewer' }),
      () => json({ error: { code: 'rate_limited', message: 'slow down' } }, 429, { 'retry-after': '1' }),
    ];
    const api = fakeHttp(() => answers.shift()!());
    const counters = emptyCounters();
    expect(await viewerToken(api.env, counters)).toEqual({ username: '$viewer', token: 'abc.def' });
    await expect(viewerToken(api.env, counters)).rejects.toThrow(/lacks username or token/);
    await expect(viewerToken(api.env, counters)).rejects.toMatchObject({ status: 429, retryAfterMs: 1000 });
    expect(api.methods).toEqual(['POST', 'POST', 'POST']);
    expect(api.urls[0]).toBe('http://gw/api/tokens');
    expect(counters).toMatchObject({ requests: 3, responses: 0 });
  });
});
