import { describe, expect, it } from 'vitest';
import { ReadingBuffer } from '../../devices/buffer.js';
import { mulberry32 } from '../../devices/rng.js';

describe('the offline buffer', () => {
  it('keeps order, and when full drops the oldest and counts it', () => {
    const buffer = new ReadingBuffer<number>(3);
    for (let i = 1; i <= 5; i++) buffer.push(i);
    expect(buffer.length).toBe(3);
    expect(buffer.dropped).toBe(2);
    expect([buffer.shift(), buffer.shift(), buffer.shift(), buffer.shift()]).toEqual([3, 4, 5, undefined]);
  });

  it('puts unacknowledged readings back in front, dropping the oldest on overflow', () => {
    const buffer = new ReadingBuffer<number>(4);
    buffer.push(5);
    buffer.push(6);
    buffer.unshiftAll([3, 4]);
    expect(buffer.dropped).toBe(0);
    buffer.unshiftAll([1, 2]);
    expect(buffer.dropped).toBe(2);
    expect(Array.from({ length: 4 }, () => buffer.shift())).toEqual([3, 4, 5, 6]);
  });

  it('behaves like a bounded array under a long random mix of operations', () => {
    const rng = mulberry32(3);
    const buffer = new ReadingBuffer<number>(50);
    let model: number[] = [];
    let dropped = 0;
    let next = 0;
    for (let i = 0; i < 20_000; i++) {
      const r = rng();
      if (r < 0.6) {
        buffer.push(next);
        model.push(next++);
        if (model.length > 50) {
          model.shift();
          dropped++;
        }
      } else if (r < 0.95) {
        expect(buffer.shift()).toBe(model.shift());
      } else {
        const back = [-2 * i, -2 * i + 1];
        buffer.unshiftAll(back);
        model = [...back, ...model];
        if (model.length > 50) {
          dropped += model.length - 50;
          model = model.slice(-50);
        }
      }
      expect(buffer.length).toBe(model.length);
    }
    expect(buffer.dropped).toBe(dropped);
  });

  it('refuses a bound that is not a positive integer', () => {
    expect(() => new ReadingBuffer(0)).toThrow(RangeError);
    expect(() => new ReadingBuffer(1.5)).toThrow(RangeError);
  });
});
