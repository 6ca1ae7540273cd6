import { describe, expect, it } from 'vitest';
import { FlapDetector, KeyedBuckets, TokenBucket } from '../../broker/rate-limit.js';

function clock(start = 0) {
  const c = { t: start, now: () => c.t };
  return c;
}

describe('TokenBucket', () => {
  it('allows a burst, then the rate', () => {
    const c = clock();
    const bucket = new TokenBucket(10, 3, c.now);
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
    expect(bucket.waitMs()).toBe(100);
    c.t = 99;
    expect(bucket.take()).toBe(false);
    c.t = 100;
    expect(bucket.take()).toBe(true);
    c.t = 10_000;
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
  });
});

describe('KeyedBuckets', () => {
  it('keeps one bucket per key and forgets the oldest past the bound', () => {
    const c = clock();
    const buckets = new KeyedBuckets(1, 1, c.now, 2);
    expect([buckets.take('a'), buckets.take('a'), buckets.take('b')]).toEqual([true, false, true]);
    buckets.take('c');
    // 'a' was forgotten, so it starts with a full bucket again.
    expect(buckets.take('a')).toBe(true);
  });
});

describe('FlapDetector', () => {
  it('bans a client that connects more than maxConnects times in the window, for banMs', () => {
    const c = clock();
    const flaps = new FlapDetector({ maxConnects: 3, windowMs: 10_000, banMs: 5_000 }, c.now);
    const results = [0, 1, 2, 3].map((i) => {
      c.t = i * 1000;
      return flaps.record('x');
    });
    expect(results).toEqual([false, false, false, true]);
    expect(flaps.banned('x')).toBe(5_000);
    expect(flaps.banned('y')).toBe(0);
    c.t = 3000 + 5000;
    expect(flaps.banned('x')).toBe(0);
  });

  it('forgets connects older than the window', () => {
    const c = clock();
    const flaps = new FlapDetector({ maxConnects: 2, windowMs: 1_000, banMs: 5_000 }, c.now);
    for (let i = 0; i < 10; i++) {
      c.t = i * 600;
      expect(flaps.record('x')).toBe(false);
    }
  });
});
