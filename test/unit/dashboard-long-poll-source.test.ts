import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { longPollSource } from '../../dashboard/long-poll-source.js';
import { fakeHttp, hang, json, page, recorder, target } from './dashboard-fakes.js';

const options = { ...target, waitS: 25, limit: 100, retryMs: 1000 };

describe('dashboard long-poll source', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_764_000_100_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('backfills, then holds one request at a time with wait and re-asks at once with the new cursor', async () => {
    const held: ((r: Response) => void)[] = [];
    const answers = [() => page([1, 2])];
    const api = fakeHttp(() => answers.shift()?.() ?? new Promise<Response>((resolve) => held.push(resolve)));
    const rec = recorder();
    const source = longPollSource({ ...options, http: api.env }, rec.handlers);
    source.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(api.urls).toEqual(['series?metric=temperature&limit=100', 'series?metric=temperature&after=2&limit=100&wait=25']);

    // Nothing happens while the gateway holds the request: no timer, no second request.
    await vi.advanceTimersByTimeAsync(20_000);
    expect(api.fetch).toHaveBeenCalledTimes(2);
    held.shift()!(page([3]));
    await vi.advanceTimersByTimeAsync(0);
    held.shift()!(page([], '3'));
    await vi.advanceTimersByTimeAsync(0);
    expect(api.urls.slice(2)).toEqual([
      'series?metric=temperature&after=3&limit=100&wait=25',
      'series?metric=temperature&after=3&limit=100&wait=25',
    ]);
    expect(rec.batches.map((b) => [b.seqs, b.backfill])).toEqual([[[1, 2], true], [[3], false]]);
    expect(source.counters).toMatchObject({ points: 3, backfilled: 2, requests: 4, responses: 3, emptyResponses: 1, errors: 0 });
    expect(source.status).toBe('open');
    source.stop();
  });

  it('waits as long as a 503 Retry-After says, and a fixed pause after other failures', async () => {
    const answers = [
      () => page([1]),
      () => json({ error: { code: 'over_capacity', message: 'too many open long polls' } }, 503, { 'retry-after': '3' }),
      () => { throw new TypeError('network down'); },
    ];
    const api = fakeHttp((_url, signal) => answers.shift()?.() ?? hang(signal));
    const rec = recorder();
    const source = longPollSource({ ...options, http: api.env }, rec.handlers);
    source.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(api.fetch).toHaveBeenCalledTimes(2);
    expect(source.status).toBe('error');
    await vi.advanceTimersByTimeAsync(2900);
    expect(api.fetch).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(100);
    expect(api.fetch).toHaveBeenCalledTimes(3);
    await vi.advanceTimersByTimeAsync(999);
    expect(api.fetch).toHaveBeenCalledTimes(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(api.fetch).toHaveBeenCalledTimes(4);
    // The cursor survives the failures.
    expect(api.urls.at(-1)).toBe('series?metric=temperature&after=1&limit=100&wait=25');
    expect(source.counters.errors).toBe(2);
    source.stop();
  });

  it('stops by aborting the held request, and resumes from its cursor with a backfill', async () => {
    const answers = [() => page([1]), undefined, () => page([2, 3])];
    const signals: (AbortSignal | null | undefined)[] = [];
    const api = fakeHttp((_url, signal) => {
      signals.push(signal);
      return answers.shift()?.() ?? hang(signal);
    });
    const rec = recorder();
    const source = longPollSource({ ...options, http: api.env }, rec.handlers);
    source.start();
    await vi.advanceTimersByTimeAsync(0);
    source.stop();
    await vi.advanceTimersByTimeAsync(0);
    expect(signals[1]?.aborted).toBe(true);
    expect(source.counters.errors).toBe(0);

    source.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(api.urls[2]).toBe('series?metric=temperature&after=1&limit=100');
    expect(rec.batches.map((b) => [b.seqs, b.backfill])).toEqual([[[1], true], [[2, 3], true]]);
    source.stop();
  });
});
