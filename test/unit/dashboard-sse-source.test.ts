import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SSE_HANDSHAKE_BYTES, sseEventBytes } from '../../dashboard/bytes.js';
import { sseSource, type SseConnect, type SseHandlers } from '../../dashboard/sse-source.js';
import { fakeHttp, page, recorder, row, scripted, target } from './dashboard-fakes.js';

/** Stands in for EventSource: records each stream opened and lets the test drive it. */
function fakeEventSource() {
  const streams: { url: string; handlers: SseHandlers; closed: boolean }[] = [];
  const connect: SseConnect = (url, handlers) => {
    const stream = { url, handlers, closed: false };
    streams.push(stream);
    return { close: () => (stream.closed = true) };
  };
  return { streams, connect, last: () => streams.at(-1)! };
}

const event = (seq: number) => [JSON.stringify(row(seq)), String(seq)] as const;

describe('dashboard SSE source', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_764_000_100_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('backfills, opens the stream after the backfill cursor, and delivers one point per event', async () => {
    const api = fakeHttp(() => page([1, 2]));
    const es = fakeEventSource();
    const rec = recorder();
    const source = sseSource({ ...target, http: api.env, connect: es.connect, limit: 100, retryMs: 1000 }, rec.handlers);
    source.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(es.last().url).toBe('http://gw/api/devices/dev-1/stream?metric=temperature&after=2');
    es.last().handlers.open();
    es.last().handlers.message(...event(3));
    es.last().handlers.message(...event(4));

    expect(rec.batches.map((b) => [b.seqs, b.backfill])).toEqual([[[1, 2], true], [[3], false], [[4], false]]);
    expect(rec.batches[1]!.points[0]).toMatchObject({ ts: row(3)[0], storedAt: row(3)[4], arrivedAt: Date.now() });
    expect(source.status).toBe('open');
    const c = source.counters;
    expect(c).toMatchObject({ points: 4, backfilled: 2, requests: 2, messages: 2, errors: 0 });
    expect(c.bytes - c.backfillBytes).toBe(SSE_HANDSHAKE_BYTES + sseEventBytes('3', event(3)[0]) + sseEventBytes('4', event(4)[0]));
    source.stop();
    expect(es.last().closed).toBe(true);
  });

  it('lets EventSource reconnect by itself, counting the reconnect, and opens a new stream from the last event id when refused', async () => {
    const api = fakeHttp(() => page([1]));
    const es = fakeEventSource();
    const rec = recorder();
    const source = sseSource({ ...target, http: api.env, connect: es.connect, limit: 100, retryMs: 1000 }, rec.handlers);
    source.start();
    await vi.advanceTimersByTimeAsync(0);
    es.last().handlers.open();
    es.last().handlers.message(...event(2));
    es.last().handlers.error(true);
    expect(source.status).toBe('connecting');
    expect(es.streams).toHaveLength(1);
    es.last().handlers.open();
    es.last().handlers.message(...event(3));

    es.last().handlers.error(false);
    expect(es.streams[0]!.closed).toBe(true);
    await vi.advanceTimersByTimeAsync(1000);
    expect(es.streams).toHaveLength(2);
    expect(es.last().url).toBe('http://gw/api/devices/dev-1/stream?metric=temperature&after=3');
    expect(rec.seqs()).toEqual([1, 2, 3]);
    expect(source.counters).toMatchObject({ requests: 4, errors: 2 });
    source.stop();
  });

  it('counts an event that does not parse as an error and delivers nothing for it', async () => {
    const api = fakeHttp(() => page([1]));
    const es = fakeEventSource();
    const rec = recorder();
    const source = sseSource({ ...target, http: api.env, connect: es.connect, limit: 100, retryMs: 1000 }, rec.handlers);
    source.start();
    await vi.advanceTimersByTimeAsync(0);
    es.last().handlers.message('{"not":"a point"}', '9');
    es.last().handlers.message(...event(2));
    expect(rec.seqs()).toEqual([1, 2]);
    expect(source.counters.errors).toBe(1);
    source.stop();
  });

  it('after stop, resumes with a backfill from its cursor, then a stream after the new cursor; a stopped stream delivers nothing', async () => {
    const api = scripted([() => page([1]), () => page([3, 4])]);
    const es = fakeEventSource();
    const rec = recorder();
    const source = sseSource({ ...target, http: api.env, connect: es.connect, limit: 100, retryMs: 1000 }, rec.handlers);
    source.start();
    await vi.advanceTimersByTimeAsync(0);
    es.last().handlers.message(...event(2));
    source.stop();
    es.streams[0]!.handlers.message(...event(3));

    source.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(api.urls).toEqual(['series?metric=temperature&limit=100', 'series?metric=temperature&after=2&limit=100']);
    expect(es.last().url).toBe('http://gw/api/devices/dev-1/stream?metric=temperature&after=4');
    expect(rec.batches.map((b) => [b.seqs, b.backfill])).toEqual([[[1], true], [[2], false], [[3, 4], true]]);
    source.stop();
  });
});
