import { describe, expect, it } from 'vitest';
import { Continuity, type Mark } from '../../dashboard/continuity.js';

const m = (seq: number, ts = seq * 1000): Mark => ({ ts, seq });
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => m(from + i));

describe('dashboard series continuity', () => {
  it('knows nothing before the first catch-up, so finds no gap', () => {
    const c = new Continuity(100);
    c.seen([m(5), m(9)]);
    expect(c.anchor).toBeNull();
    expect(c.hasGap).toBe(false);
  });

  it('moves the anchor along contiguous readings, live or caught up', () => {
    const c = new Continuity(100);
    c.caughtUp(range(1, 3));
    expect(c.anchor).toEqual(m(3));
    c.seen([m(4)]);
    c.seen([m(5)]);
    expect(c.anchor).toEqual(m(5));
    expect(c.hasGap).toBe(false);
  });

  it('finds the hole a reading published just before subscribing leaves, and closes it when caught up', () => {
    const c = new Continuity(100);
    // The catch-up after SUBACK saw the store up to 10; reading 11 was not committed yet, 12 arrived live.
    c.seen([m(12)]);
    c.caughtUp(range(8, 10));
    expect(c.anchor).toEqual(m(10));
    expect(c.hasGap).toBe(true);
    c.seen([m(13)]);
    expect(c.hasGap).toBe(true);
    c.caughtUp(range(9, 13));
    expect(c.anchor).toEqual(m(13));
    expect(c.hasGap).toBe(false);
  });

  it('treats a seq missing from a catch-up that reached it as not part of this series', () => {
    const c = new Continuity(100);
    c.caughtUp([m(1), m(2)]);
    // Reading 3 carried other metrics only: live saw 3 and 4 for the device, the series has 4.
    c.seen([m(4)]);
    expect(c.hasGap).toBe(true);
    c.caughtUp([m(2), m(4)]);
    expect(c.anchor).toEqual(m(4));
    expect(c.hasGap).toBe(false);
  });

  it('starts over when the device restarts its counter', () => {
    const c = new Continuity(100);
    c.caughtUp(range(1, 50));
    c.seen([m(0, 60_000), m(1, 61_000)]);
    expect(c.anchor).toEqual(m(1, 61_000));
    expect(c.hasGap).toBe(false);
  });

  it('follows the newest timestamp for devices without sequence numbers', () => {
    const c = new Continuity(100);
    c.caughtUp([{ ts: 1000, seq: null }]);
    c.seen([{ ts: 3000, seq: null }, { ts: 2000, seq: null }]);
    expect(c.anchor).toEqual({ ts: 3000, seq: null });
    expect(c.hasGap).toBe(false);
  });

  it('remembers a bounded number of readings', () => {
    const c = new Continuity(10);
    c.caughtUp([m(0)]);
    c.seen(range(2, 1000));
    // 1 never came and 2..990 were forgotten: the anchor stays put and the hole is still known.
    expect(c.anchor).toEqual(m(0));
    expect(c.hasGap).toBe(true);
    c.caughtUp(range(0, 1000));
    expect(c.anchor).toEqual(m(1000));
  });
});
