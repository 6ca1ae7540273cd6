import { describe, expect, it } from 'vitest';
import { understood, type Capability } from '../../devices/shadow-sync.js';

const ALL: Capability[] = ['intervalMs', 'relay', 'setpoint'];

describe('which desired fields a simulated device understands', () => {
  it('picks the supported fields with valid values', () => {
    expect(understood({ intervalMs: 2000, relay: true, setpoint: 21.5 }, ALL)).toEqual({ intervalMs: 2000, relay: true, setpoint: 21.5 });
    expect(understood({ intervalMs: 100 }, ALL)).toEqual({ intervalMs: 100 });
    expect(understood({ intervalMs: 3_600_000, setpoint: -40 }, ALL)).toEqual({ intervalMs: 3_600_000, setpoint: -40 });
  });

  it('leaves out fields the device lacks and fields it does not know', () => {
    expect(understood({ intervalMs: 500, relay: true, colour: 'red' }, ['intervalMs'])).toEqual({ intervalMs: 500 });
    expect(understood({ firmware: '2.0' }, ALL)).toEqual({});
  });

  it('leaves out invalid values, so they stay pending in the shadow', () => {
    expect(understood({ intervalMs: 99 }, ALL)).toEqual({});
    expect(understood({ intervalMs: 3_600_001 }, ALL)).toEqual({});
    expect(understood({ intervalMs: 250.5 }, ALL)).toEqual({});
    expect(understood({ intervalMs: '1000' }, ALL)).toEqual({});
    expect(understood({ relay: 'on' }, ALL)).toEqual({});
    expect(understood({ relay: 1 }, ALL)).toEqual({});
    expect(understood({ setpoint: null }, ALL)).toEqual({});
    expect(understood({ setpoint: Number.NaN, relay: false }, ALL)).toEqual({ relay: false });
    expect(understood({ setpoint: { value: 3 } }, ALL)).toEqual({});
  });

  it('ignores inherited properties', () => {
    const delta = Object.create({ relay: true }) as Record<string, unknown>;
    expect(understood(delta, ALL)).toEqual({});
  });
});
