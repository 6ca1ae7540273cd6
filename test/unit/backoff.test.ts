import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Backoff, backoffDelay, backoffWindow, DEFAULT_BACKOFF } from '../../devices/backoff.js';
import { deriveSeed, mulberry32 } from '../../devices/rng.js';
import { Scheduler } from '../../devices/scheduler.js';

const constant = (x: number) => () => x;

describe('backoff with full jitter', () => {
  it('doubles its window from the base up to the cap', () => {
    const windows = Array.from({ length: 8 }, (_, attempt) => backoffWindow(attempt, { baseMs: 1000, maxMs: 30_000 }));
    expect(windows).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
    expect(backoffWindow(10_000, DEFAULT_BACKOFF)).toBe(DEFAULT_BACKOFF.maxMs);
  });

  it('draws uniformly from [0, window) with the injected RNG', () => {
    expect(backoffDelay(0, constant(0))).toBe(0);
    expect(backoffDelay(3, constant(0.5))).toBe(4000);
    expect(backoffDelay(20, constant(0.999999))).toBe(29_999);
    const rng = mulberry32(1);
    for (let attempt = 0; attempt < 50; attempt++) {
      const delay = backoffDelay(attempt, rng);
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(backoffWindow(attempt, DEFAULT_BACKOFF));
    }
  });

  it('counts attempts until reset', () => {
    const backoff = new Backoff(constant(0.5), { baseMs: 100, maxMs: 1000 });
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([50, 100, 200]);
    expect(backoff.attempt).toBe(3);
    backoff.reset();
    expect(backoff.next()).toBe(50);
  });

  it('spreads a fleet that lost the gateway together over the whole window: no second gets a storm', () => {
    const devices = 10_000;
    const perSecond = new Array<number>(30).fill(0);
    for (let i = 0; i < devices; i++) {
      const backoff = new Backoff(mulberry32(deriveSeed(1, i, 2)));
      // The gateway stayed down for five failed attempts; the sixth is the one that reaches it.
      let at = 0;
      for (let attempt = 0; attempt < 6; attempt++) at += backoff.next();
      perSecond[Math.min(29, Math.floor((at / 1000) % 30))]!++;
    }
    expect(Math.max(...perSecond)).toBeLessThan((devices / 30) * 2);
  });
});

describe('the retry schedule under fake timers', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('retries at base·2^n·u after each failure, capped, and starts over after a success', async () => {
    const scheduler = new Scheduler({ tickMs: 1 });
    const backoff = new Backoff(constant(0.5), { baseMs: 1000, maxMs: 8000 });
    const attempts: number[] = [];
    let failuresLeft = 6;
    const attempt = () => {
      attempts.push(Date.now());
      if (failuresLeft-- > 0) scheduler.set(attempt, backoff.next());
      else backoff.reset();
    };
    attempt();
    await vi.advanceTimersByTimeAsync(60_000);
    const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
    expect(gaps).toEqual([500, 1000, 2000, 4000, 4000, 4000]);
    expect(backoff.attempt).toBe(0);
    scheduler.close();
  });
});
