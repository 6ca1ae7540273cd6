import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Scheduler } from '../../devices/scheduler.js';

describe('the shared scheduler', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  it('runs callbacks in time order, ties in the order they were set, on one native timer', async () => {
    const scheduler = new Scheduler({ tickMs: 10 });
    const ran: string[] = [];
    scheduler.set(() => ran.push('c'), 300);
    scheduler.set(() => ran.push('a'), 100);
    scheduler.set(() => ran.push('b1'), 200);
    scheduler.set(() => ran.push('b2'), 200);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(199);
    expect(ran).toEqual(['a']);
    await vi.advanceTimersByTimeAsync(200);
    expect(ran).toEqual(['a', 'b1', 'b2', 'c']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('serves ten thousand periodic devices with one native timer and at most one wake-up per tick', async () => {
    const scheduler = new Scheduler({ tickMs: 5 });
    const spy = vi.spyOn(globalThis, 'setTimeout');
    let fired = 0;
    for (let i = 0; i < 10_000; i++) {
      const tick = () => {
        fired++;
        scheduler.set(tick, 1000);
      };
      scheduler.set(tick, (i * 1000) / 10_000);
    }
    await vi.advanceTimersByTimeAsync(10_000);
    // Ten each in [phase, phase + 9 s]; device 0, phase 0, also fires at exactly 10 s.
    expect(fired).toBe(10 * 10_000 + 1);
    expect(vi.getTimerCount()).toBe(1);
    // 10 s at one wake-up per 5 ms tick at most.
    expect(spy.mock.calls.length).toBeLessThanOrEqual(10_000 / 5 + 2);
    scheduler.close();
    expect(vi.getTimerCount()).toBe(0);
    spy.mockRestore();
  });

  it('forgets cleared callbacks and never runs a zero-delay reschedule in the same pass', async () => {
    const scheduler = new Scheduler({ tickMs: 1 });
    const ran: number[] = [];
    const cleared = scheduler.set(() => ran.push(-1), 50);
    scheduler.clear(cleared);
    let spins = 0;
    const spin = () => {
      ran.push(++spins);
      if (spins < 3) scheduler.set(spin, 0);
    };
    scheduler.set(spin, 10);
    await vi.advanceTimersByTimeAsync(100);
    expect(ran).toEqual([1, 2, 3]);
    expect(scheduler.size).toBe(0);
  });

  it('re-arms a fired handle passed back as `reuse`, but never one still waiting', async () => {
    const scheduler = new Scheduler({ tickMs: 10 });
    const ran: number[] = [];
    let handle = scheduler.set(() => ran.push(1), 100);
    // Still queued: a second handle, so cancelling the first cannot cancel this one.
    const other = scheduler.set(() => ran.push(2), 150, handle);
    expect(other).not.toBe(handle);
    await vi.advanceTimersByTimeAsync(200);
    expect(ran).toEqual([1, 2]);
    const again = scheduler.set(() => ran.push(3), 100, handle);
    expect(again).toBe(handle);
    await vi.advanceTimersByTimeAsync(200);
    expect(ran).toEqual([1, 2, 3]);
    handle = scheduler.set(() => ran.push(4), 100, again);
    scheduler.clear(handle);
    await vi.advanceTimersByTimeAsync(200);
    expect(ran).toEqual([1, 2, 3]);
    expect(scheduler.size).toBe(0);
  });

  it('re-arms for an entry earlier than the one it waits for', async () => {
    const scheduler = new Scheduler({ tickMs: 1 });
    const ran: string[] = [];
    scheduler.set(() => ran.push('late'), 5000);
    scheduler.set(() => ran.push('early'), 10);
    await vi.advanceTimersByTimeAsync(20);
    expect(ran).toEqual(['early']);
    expect(vi.getTimerCount()).toBe(1);
    scheduler.close();
  });
});
