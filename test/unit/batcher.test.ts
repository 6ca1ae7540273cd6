import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Batcher, CATCH_UP_FACTOR } from '../../broker/ingest/batcher.js';
import { StoreError } from '../../broker/errors.js';

const fakeTimer = {
  setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
  clearTimeout: (handle: unknown) => clearTimeout(handle as NodeJS.Timeout),
};

function recordingSink() {
  const batches: number[][] = [];
  let failures = 0;
  return {
    batches,
    failNext(n: number) {
      failures = n;
    },
    write: async (batch: number[]) => {
      if (failures > 0) {
        failures -= 1;
        throw new StoreError('down', true);
      }
      batches.push([...batch]);
    },
  };
}

describe('Batcher', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('writes a full batch at once, and what queued meanwhile right after it, without waiting for the interval', async () => {
    const sink = recordingSink();
    const batcher = new Batcher<number>({ write: sink.write, batchSize: 3, flushIntervalMs: 1000, timer: fakeTimer });
    [1, 2, 3, 4].forEach((n) => batcher.add(n));
    expect(batcher.size).toBe(4);
    await vi.advanceTimersByTimeAsync(0);
    expect(sink.batches).toEqual([[1, 2, 3], [4]]);
    expect(batcher.size).toBe(0);
  });

  it('answers a large batch\'s readings in order, a share per turn of the event loop, so their PUBACKs do not hold it', async () => {
    const sink = recordingSink();
    const batcher = new Batcher<number>({ write: sink.write, batchSize: 500, flushIntervalMs: 1000, timer: fakeTimer });
    const settled: number[] = [];
    for (let n = 0; n < 500; n++) batcher.add(n, () => settled.push(n));
    for (let tick = 0; tick < 10; tick++) await Promise.resolve();
    expect(sink.batches).toHaveLength(1);
    // The first share is answered with the write; the rest follow in later turns.
    expect(settled.length).toBeGreaterThan(0);
    expect(settled.length).toBeLessThan(500);
    await vi.runAllTimersAsync();
    expect(settled).toEqual(Array.from({ length: 500 }, (_, i) => i));
  });

  it('when writes fall behind, takes what queued meanwhile in one write, up to ten batches\' worth', async () => {
    let release: () => void = () => {};
    const batches: number[][] = [];
    const batcher = new Batcher<number>({
      write: (batch) => {
        batches.push(batch);
        return new Promise<void>((resolve) => (release = resolve));
      },
      batchSize: 2, flushIntervalMs: 1000, timer: fakeTimer,
    });
    for (let n = 1; n <= 25; n++) batcher.add(n);
    expect(batches).toEqual([[1, 2]]);
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(batches[1]).toEqual(Array.from({ length: 2 * CATCH_UP_FACTOR }, (_, i) => i + 3));
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(batches[2]).toEqual([23, 24, 25]);
  });

  it('writes a partial batch when the interval passes', async () => {
    const sink = recordingSink();
    const batcher = new Batcher<number>({ write: sink.write, batchSize: 100, flushIntervalMs: 50, timer: fakeTimer });
    batcher.add(1);
    batcher.add(2);
    await vi.advanceTimersByTimeAsync(49);
    expect(sink.batches).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(sink.batches).toEqual([[1, 2]]);
  });

  it('retries a failed write with growing delays and keeps order', async () => {
    const sink = recordingSink();
    const errors: number[] = [];
    const batcher = new Batcher<number>({
      write: sink.write, batchSize: 2, flushIntervalMs: 10, retryDelayMs: 100, maxRetryDelayMs: 1000, timer: fakeTimer,
      onWriteError: (_err, _size, attempt) => errors.push(attempt),
    });
    sink.failNext(3);
    [1, 2, 3].forEach((n) => batcher.add(n));
    await vi.advanceTimersByTimeAsync(0);
    expect(errors).toEqual([1]);
    await vi.advanceTimersByTimeAsync(100);
    expect(errors).toEqual([1, 2]);
    await vi.advanceTimersByTimeAsync(199);
    expect(errors).toEqual([1, 2]);
    await vi.advanceTimersByTimeAsync(1);
    expect(errors).toEqual([1, 2, 3]);
    await vi.advanceTimersByTimeAsync(400);
    expect(sink.batches).toEqual([[1, 2], [3]]);
    expect(batcher.size).toBe(0);
  });

  it('hands a batch the store refuses for good to onDiscard and goes on', async () => {
    const discarded: number[][] = [];
    let calls = 0;
    const batcher = new Batcher<number>({
      batchSize: 1, flushIntervalMs: 10, timer: fakeTimer,
      isRetriable: (err) => !(err instanceof StoreError) || err.retriable,
      onDiscard: (_err, batch) => discarded.push(batch),
      write: async () => {
        calls += 1;
        if (calls === 1) throw new StoreError('constraint', false);
      },
    });
    batcher.add(1);
    batcher.add(2);
    await batcher.flush();
    expect(discarded).toEqual([[1]]);
    expect(calls).toBe(2);
  });

  it('close() writes everything and then refuses new items', async () => {
    const sink = recordingSink();
    const batcher = new Batcher<number>({ write: sink.write, batchSize: 2, flushIntervalMs: 10_000, timer: fakeTimer });
    [1, 2, 3, 4, 5].forEach((n) => batcher.add(n));
    await batcher.close();
    expect(sink.batches.flat()).toEqual([1, 2, 3, 4, 5]);
    expect(() => batcher.add(6)).toThrow(/closed/);
  });

  it('flush() cuts a retry wait short', async () => {
    const sink = recordingSink();
    const batcher = new Batcher<number>({ write: sink.write, batchSize: 10, flushIntervalMs: 10, retryDelayMs: 60_000, timer: fakeTimer });
    sink.failNext(1);
    batcher.add(1);
    await vi.advanceTimersByTimeAsync(10);
    expect(sink.batches).toEqual([]);
    await batcher.flush();
    expect(sink.batches).toEqual([[1]]);
  });

  it('dispose() reports what was never written', async () => {
    const sink = recordingSink();
    const batcher = new Batcher<number>({ write: sink.write, batchSize: 2, flushIntervalMs: 10, retryDelayMs: 1000, timer: fakeTimer });
    sink.failNext(100);
    [1, 2, 3].forEach((n) => batcher.add(n));
    await vi.advanceTimersByTimeAsync(0);
    expect(batcher.dispose()).toBe(3);
    expect(batcher.size).toBe(0);
  });
});
