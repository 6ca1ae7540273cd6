import { describe, expect, it } from 'vitest';
import { liveliestMetric, nextTarget, parseDevices, resolveTarget, sameTarget, type DeviceInfo } from '../../dashboard/devices.js';
import { airQuality, powerMeter, thermostat, type Profile } from '../../devices/profiles.js';
import { mulberry32 } from '../../devices/rng.js';

const device = (id: string, online: boolean, metrics: string[]): DeviceInfo => ({ id, online, lastSeen: 1, metrics });

describe('dashboard device picker', () => {
  const devices = [device('a-off', false, ['humidity']), device('b-on', true, ['humidity', 'temperature']), device('c-on', true, [])];

  it('shows the asked-for device and metric when listed', () => {
    expect(resolveTarget(devices, { deviceId: 'b-on', metric: 'temperature' })).toEqual({ deviceId: 'b-on', metric: 'temperature' });
  });

  it('falls back to the first online device and its first metric', () => {
    expect(resolveTarget(devices, { deviceId: null, metric: null })).toEqual({ deviceId: 'b-on', metric: 'humidity' });
    expect(resolveTarget(devices, { deviceId: 'gone', metric: 'temperature' })).toEqual({ deviceId: 'b-on', metric: 'temperature' });
  });

  it('falls back to the first device when none is online, and to nothing without devices or metrics', () => {
    expect(resolveTarget([devices[0]!], { deviceId: null, metric: 'temperature' })).toEqual({ deviceId: 'a-off', metric: 'humidity' });
    expect(resolveTarget([], { deviceId: 'b-on', metric: null })).toBeNull();
    expect(resolveTarget(devices, { deviceId: 'c-on', metric: null })).toBeNull();
  });

  it('passes over online clients that have sent no readings when nothing was asked for', () => {
    // A client with no readings sorted first (with AUTH=off, another tab's dashboard) used to be chosen: empty panels.
    const list = [device('a-quiet', true, []), device('b-off', false, ['t']), device('c-on', true, ['t'])];
    expect(resolveTarget(list, { deviceId: null, metric: null })).toEqual({ deviceId: 'c-on', metric: 't' });
    expect(resolveTarget([list[0]!, list[1]!], { deviceId: null, metric: null })).toEqual({ deviceId: 'b-off', metric: 't' });
    expect(resolveTarget([list[0]!], { deviceId: null, metric: null })).toBeNull();
  });

  it('keeps what it shows across refreshes until that device is gone', () => {
    const shown = nextTarget(devices, { deviceId: null, metric: null }, null);
    expect(shown).toEqual({ deviceId: 'b-on', metric: 'humidity' });
    // a-off comes online: the panels stay on b-on instead of restarting on a-off.
    const later = [device('a-off', true, ['humidity']), devices[1]!, devices[2]!];
    expect(nextTarget(later, { deviceId: null, metric: null }, shown)).toEqual(shown);
    expect(nextTarget([later[0]!], { deviceId: null, metric: null }, shown)).toEqual({ deviceId: 'a-off', metric: 'humidity' });
    // What was asked for wins over what is shown.
    expect(nextTarget(later, { deviceId: 'a-off', metric: null }, shown)).toEqual({ deviceId: 'a-off', metric: 'humidity' });
  });

  it('parses the device list, sorted, dropping malformed entries', () => {
    const body = {
      devices: [
        { id: 'z', online: true, lastSeen: 5, metrics: ['t', 'a'] },
        { id: 42, metrics: [] },
        { id: 'm', online: 'yes', lastSeen: null, metrics: ['x', 7] },
      ],
    };
    expect(parseDevices(body)).toEqual([
      { id: 'm', online: false, lastSeen: null, metrics: ['x'] },
      { id: 'z', online: true, lastSeen: 5, metrics: ['a', 't'] },
    ]);
    expect(() => parseDevices({ items: [] })).toThrow(/devices/);
  });

  it('compares targets by value', () => {
    expect(sameTarget({ deviceId: 'a', metric: 'm' }, { deviceId: 'a', metric: 'm' })).toBe(true);
    expect(sameTarget({ deviceId: 'a', metric: 'm' }, { deviceId: 'a', metric: 'n' })).toBe(false);
    expect(sameTarget(null, null)).toBe(true);
    expect(sameTarget(null, { deviceId: 'a', metric: 'm' })).toBe(false);
  });

  /** 30 readings at 1 s of a simulator profile, as [metric, values] in the store's (sorted) order. */
  function recent(profile: Profile, seed: number): Array<[string, number[]]> {
    const rng = mulberry32(seed);
    const t0 = Date.UTC(2026, 10, 29, 12);
    let state = profile.init(rng, t0, { intervalMs: 1000 });
    const values = new Map<string, number[]>();
    for (let i = 1; i <= 30; i++) {
      const step = profile.next(state, t0 + i * 1000, rng);
      state = step.state;
      for (const [metric, value] of Object.entries(step.reading)) values.set(metric, [...(values.get(metric) ?? []), value]);
    }
    return [...values].sort(([a], [b]) => (a < b ? -1 : 1));
  }

  it('defaults to the metric that moves the most for its size, not the first by name', () => {
    for (const seed of [1, 2, 3]) {
      // A thermostat's battery drains by thousandths: four flat lines. Its temperature moves.
      const thermo = recent(thermostat, seed);
      expect(thermo[0]![0]).toBe('battery');
      expect(liveliestMetric(thermo), `thermostat, seed ${seed}`).not.toBe('battery');
      // A meter's cumulative energy only creeps up; current and power swing.
      expect(['current', 'power']).toContain(liveliestMetric(recent(powerMeter, seed)));
      // CO2 near 1,000 ppm moves by a few percent and sorts first; fine particles move by tens of percent.
      expect(liveliestMetric(recent(airQuality, seed))).toBe('pm2_5');
    }
    expect(liveliestMetric([['a', [5, 5, 5]], ['b', [10, 12, 11]], ['c', [100, 101, 100]]])).toBe('b');
    // Around zero the range counts as it is; one value or none says nothing, and ties keep list order.
    expect(liveliestMetric([['a', [1, 1.1]], ['z', [-0.5, 0.5]]])).toBe('z');
    expect(liveliestMetric([['a', [3]], ['b', []]])).toBe('a');
    expect(liveliestMetric([])).toBeNull();
  });
});
