import { afterEach, describe, expect, it, vi } from 'vitest';
import { METRIC_NAME_PATTERN } from '../../broker/contract/telemetry.js';
import { airQuality, door, powerMeter, profileFor, PROFILES, thermostat, type Metrics, type Profile } from '../../devices/profiles.js';
import { deriveSeed, mulberry32 } from '../../devices/rng.js';

const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const MINUTE = 60_000;

/** Runs a profile over `steps` readings `stepMs` apart from T0 (event profiles: at their own times). */
function series(profile: Profile, seed: number, steps: number, stepMs = MINUTE): { ts: number; reading: Metrics }[] {
  const rng = mulberry32(seed);
  let state = profile.init(rng, T0, { intervalMs: stepMs });
  let now = T0;
  const out: { ts: number; reading: Metrics }[] = [];
  for (let i = 0; i < steps; i++) {
    const step = profile.next(state, now, rng);
    state = step.state;
    out.push({ ts: now, reading: step.reading });
    now += step.nextInMs ?? stepMs;
  }
  return out;
}

/** Mean of `metric` over the readings taken in `hour` (UTC) of any day. */
function meanAtHour(s: { ts: number; reading: Metrics }[], metric: string, hour: number): number {
  const at = s.filter(({ ts }) => new Date(ts).getUTCHours() === hour).map(({ reading }) => reading[metric]!);
  return at.reduce((a, b) => a + b, 0) / at.length;
}

describe('seeded RNG', () => {
  it('gives one sequence per seed, in [0, 1), and unrelated sequences for neighbouring seeds', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const first = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(first);
    expect(first.every((x) => x >= 0 && x < 1)).toBe(true);
    const c = mulberry32(43);
    expect(Array.from({ length: 1000 }, () => c())).not.toEqual(first);
    expect(deriveSeed(1, 7, 1)).not.toBe(deriveSeed(1, 8, 1));
    expect(deriveSeed(1, 7, 1)).toBe(deriveSeed(1, 7, 1));
  });
});

describe('profiles', () => {
  afterEach(() => vi.restoreAllMocks());

  it.each(PROFILES.map((p) => [p.name, p] as const))('%s: same seed, same series; another seed, another series', (_name, profile) => {
    const a = series(profile, 7, 2000);
    expect(series(profile, 7, 2000)).toEqual(a);
    expect(series(profile, 8, 2000)).not.toEqual(a);
  });

  it('never call Math.random: every draw comes from the injected RNG', () => {
    vi.spyOn(Math, 'random').mockImplementation(() => {
      throw new Error('Math.random called');
    });
    for (const profile of PROFILES) expect(() => series(profile, 1, 500)).not.toThrow();
  });

  it.each(PROFILES.map((p) => [p.name, p] as const))('%s: three days of readings stay in bounds, with contract-valid names and finite values', (_name, profile) => {
    const violations: string[] = [];
    for (const seed of [1, 2, 3]) {
      for (const { ts, reading } of series(profile, seed, 3 * 24 * 60)) {
        expect(Object.keys(reading).sort()).toEqual(Object.keys(profile.bounds).sort());
        for (const [name, value] of Object.entries(reading)) {
          const [min, max] = profile.bounds[name]!;
          const ok = METRIC_NAME_PATTERN.test(name) && Number.isFinite(value) && value >= min && value <= max;
          if (!ok) violations.push(`seed ${seed} at ${ts}: ${name}=${value}`);
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it('power meter: cumulative energy never decreases, even when the clock steps back', () => {
    const rng = mulberry32(5);
    let state = powerMeter.init(rng, T0, { intervalMs: 1000 });
    let last = -Infinity;
    const times = [T0, T0 + 1000, T0 + 2000, T0 + 500, T0 + 60_000, T0 + 60_000, T0 + 3_600_000];
    for (let i = 0; i < 5000; i++) times.push(T0 + 3_600_000 + i * 1000);
    for (const now of times) {
      const step = powerMeter.next(state, now, rng);
      state = step.state;
      expect(step.reading.energy).toBeGreaterThanOrEqual(last);
      last = step.reading.energy!;
    }
  });

  it('power meter: energy grows by the integral of power', () => {
    const s = series(powerMeter, 9, 24 * 60);
    const integral = s.slice(1).reduce((sum, { reading }) => sum + (reading.power! * MINUTE) / 3.6e9, 0);
    const grown = s.at(-1)!.reading.energy! - s[0]!.reading.energy!;
    expect(grown).toBeGreaterThan(0);
    expect(Math.abs(grown - integral) / integral).toBeLessThan(0.01);
  });

  it.each([thermostat, door].map((p) => [p.name, p] as const))('%s: battery never increases', (_name, profile) => {
    const s = series(profile, 11, 10_000);
    for (let i = 1; i < s.length; i++) expect(s[i]!.reading.battery).toBeLessThanOrEqual(s[i - 1]!.reading.battery!);
    expect(s.at(-1)!.reading.battery).toBeLessThan(s[0]!.reading.battery!);
  });

  it('door: values are 0 or 1, alternating events at a mean rate of one per interval', () => {
    const intervalMs = 1000;
    const s = series(door, 3, 20_000, intervalMs);
    s.forEach(({ reading }, i) => expect(reading.open).toBe(i % 2 === 0 ? 1 : 0));
    const meanGap = (s.at(-1)!.ts - s[0]!.ts) / (s.length - 1);
    expect(meanGap).toBeGreaterThan(intervalMs * 0.95);
    expect(meanGap).toBeLessThan(intervalMs * 1.05);
    const gaps = s.slice(1).map((r, i) => r.ts - s[i]!.ts);
    // Events, not a clock: gaps vary widely.
    expect(Math.max(...gaps) / Math.min(...gaps)).toBeGreaterThan(10);
  });

  it('thermostat follows a daily cycle: afternoons are warmer than nights', () => {
    const s = series(thermostat, 4, 14 * 24 * 60);
    expect(meanAtHour(s, 'temperature', 15) - meanAtHour(s, 'temperature', 3)).toBeGreaterThan(1.5);
  });

  it('air quality: CO2 rises with daytime occupancy and PM2.5 has rare spikes', () => {
    const s = series(airQuality, 6, 7 * 24 * 60);
    expect(meanAtHour(s, 'co2', 13) - meanAtHour(s, 'co2', 1)).toBeGreaterThan(300);
    const pm = s.map(({ reading }) => reading.pm2_5!).sort((a, b) => a - b);
    const median = pm[Math.floor(pm.length / 2)]!;
    expect(pm.at(-1)!).toBeGreaterThan(median * 3);
    expect(pm.filter((v) => v > median * 3).length / pm.length).toBeLessThan(0.1);
  });

  it('mixed: device i gets profile i mod 4; unknown names give undefined', () => {
    expect([0, 1, 2, 3, 4, 9].map((i) => profileFor('mixed', i)?.name)).toEqual([
      'thermostat', 'power-meter', 'air-quality', 'door', 'thermostat', 'power-meter',
    ]);
    expect(profileFor('door', 5)).toBe(door);
    expect(profileFor('toaster', 0)).toBeUndefined();
  });
});
