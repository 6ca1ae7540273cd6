// Device profiles: pure, seeded generators (STYLE.md §14, after MQTTX's
// scenarios). A profile never touches the clock, timers or MQTT; the simulator
// hands it the time and a seeded RNG, so one seed always yields one series.
import { exponential, gaussian, uniform, type Rng } from './rng.js';

export type Metrics = Record<string, number>;

export interface ProfileContext {
  /** Mean gap between readings, ms (1000 / --rate). */
  intervalMs: number;
}

export interface Step<S> {
  reading: Metrics;
  state: S;
  /** Event profiles only: ms until the next reading; periodic ones follow the fleet's interval. */
  nextInMs?: number;
}

/** A sensor model: `(state, nowMs, rng) -> { reading, state }` plus metadata. */
export interface Profile<S = unknown> {
  readonly name: string;
  readonly description: string;
  /** `periodic` readings come at the configured rate; `event` readings when the profile says. */
  readonly kind: 'periodic' | 'event';
  /** Physical range of each metric; every reading stays inside it. */
  readonly bounds: Readonly<Record<string, readonly [number, number]>>;
  init(rng: Rng, nowMs: number, ctx: ProfileContext): S;
  next(state: S, nowMs: number, rng: Rng): Step<S>;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

function clamp(value: number, [min, max]: readonly [number, number]): number {
  return Math.min(max, Math.max(min, value));
}

function round(value: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}

/** Hour of day in UTC, fractional: UTC so a series does not depend on the host's time zone. */
function hourOfDay(nowMs: number): number {
  return ((nowMs % DAY_MS) + DAY_MS) % DAY_MS / HOUR_MS;
}

/** A daily cosine peaking at `peakHour`, in [-1, 1]. */
function diurnal(nowMs: number, peakHour: number): number {
  return Math.cos((2 * Math.PI * (hourOfDay(nowMs) - peakHour)) / 24);
}

/** A bump of height 1 centred on `hour` with the given width (hours), wrapping at midnight. */
function bump(nowMs: number, hour: number, width: number): number {
  const d = Math.abs(hourOfDay(nowMs) - hour);
  const dist = Math.min(d, 24 - d);
  return Math.exp(-(dist * dist) / (2 * width * width));
}

/**
 * One step of an Ornstein-Uhlenbeck random walk: wanders, but is pulled back to
 * zero with time constant `tauS`, so values stay plausible over days.
 * `sd` is the walk's long-run standard deviation.
 */
function ouStep(x: number, dtMs: number, tauS: number, sd: number, rng: Rng): number {
  const dt = dtMs / 1000;
  if (dt <= 0) return x;
  const decay = Math.exp(-dt / tauS);
  return x * decay + sd * Math.sqrt(1 - decay * decay) * gaussian(rng);
}

/** A sensor's slow calibration drift: `perDay` units for each day since `startMs`. */
function drift(perDay: number, startMs: number, nowMs: number): number {
  return (perDay * Math.max(0, nowMs - startMs)) / DAY_MS;
}

/** Whether an event with mean spacing `meanMs` happened within the last `dtMs`: a per-time, not per-reading, chance. */
function chance(rng: Rng, dtMs: number, meanMs: number): boolean {
  return rng() < 1 - Math.exp(-dtMs / meanMs);
}

interface ThermostatState {
  startMs: number; lastMs: number; setpoint: number; driftPerDay: number;
  walk: number; humidityWalk: number; battery: number; drainPerReading: number;
}

export const thermostat: Profile<ThermostatState> = {
  name: 'thermostat',
  description: 'indoor thermostat: temperature (°C) with a daily cycle, humidity (%RH), battery (%)',
  kind: 'periodic',
  bounds: { temperature: [-20, 60], humidity: [0, 100], battery: [0, 100] },
  init: (rng, nowMs) => ({
    startMs: nowMs, lastMs: nowMs, setpoint: uniform(rng, 19, 23), driftPerDay: uniform(rng, -0.05, 0.05),
    walk: 0, humidityWalk: 0, battery: uniform(rng, 60, 100), drainPerReading: uniform(rng, 1e-5, 2e-5),
  }),
  next(s, nowMs, rng) {
    const dt = Math.max(0, nowMs - s.lastMs);
    const walk = ouStep(s.walk, dt, 1800, 0.6, rng);
    const humidityWalk = ouStep(s.humidityWalk, dt, 3600, 4, rng);
    // Sun on the sensor or an opened window: rare, brief, and a real dashboard must cope.
    const spike = rng() < 0.001 ? uniform(rng, 3, 8) : 0;
    const raw = s.setpoint + 1.5 * diurnal(nowMs, 15) + walk + drift(s.driftPerDay, s.startMs, nowMs) + spike + 0.05 * gaussian(rng);
    const temperature = clamp(raw, this.bounds.temperature!);
    // Warmer air holds more water, so relative humidity falls as the room warms.
    const humidity = clamp(45 - 2 * (temperature - s.setpoint) + humidityWalk + 0.3 * gaussian(rng), this.bounds.humidity!);
    const battery = Math.max(0, s.battery - s.drainPerReading);
    return {
      reading: { temperature: round(temperature, 2), humidity: round(humidity, 1), battery: round(battery, 3) },
      state: { ...s, lastMs: Math.max(s.lastMs, nowMs), walk, humidityWalk, battery },
    };
  },
};

interface PowerMeterState {
  lastMs: number; energyKWh: number; powerFactor: number; voltageWalk: number; loadWalk: number;
}

export const powerMeter: Profile<PowerMeterState> = {
  name: 'power-meter',
  description: 'household power meter: voltage (V), current (A), power (W), cumulative energy (kWh, never decreases)',
  kind: 'periodic',
  bounds: { voltage: [180, 260], current: [0, 63], power: [0, 260 * 63], energy: [0, Number.MAX_SAFE_INTEGER] },
  init: (rng, nowMs) => ({
    lastMs: nowMs, energyKWh: uniform(rng, 0, 5000), powerFactor: uniform(rng, 0.85, 0.99), voltageWalk: 0, loadWalk: 0,
  }),
  next(s, nowMs, rng) {
    const dt = Math.max(0, nowMs - s.lastMs);
    const voltageWalk = ouStep(s.voltageWalk, dt, 600, 1.5, rng);
    const loadWalk = ouStep(s.loadWalk, dt, 900, 1.5, rng);
    // Households peak at breakfast and dinner; the grid sags a little when they do.
    const demand = 0.6 + 6 * bump(nowMs, 7.5, 1.2) + 9 * bump(nowMs, 19, 2);
    // A motor or kettle switching on draws an inrush for a moment, every ten minutes or so.
    const inrush = chance(rng, dt, 600_000) ? uniform(rng, 10, 30) : 0;
    const current = clamp(demand + loadWalk + inrush + 0.05 * gaussian(rng), this.bounds.current!);
    const voltage = clamp(230 - 0.15 * current + voltageWalk + 0.3 * gaussian(rng), this.bounds.voltage!);
    const power = voltage * current * s.powerFactor;
    // Integrate over the time since the last reading; a clock step backwards adds nothing.
    const energyKWh = s.energyKWh + (power * dt) / 3.6e9;
    return {
      reading: { voltage: round(voltage, 1), current: round(current, 2), power: round(power, 1), energy: round(energyKWh, 4) },
      state: { ...s, lastMs: Math.max(s.lastMs, nowMs), voltageWalk, loadWalk, energyKWh },
    };
  },
};

interface AirQualityState {
  startMs: number; lastMs: number; co2Walk: number; co2DriftPerDay: number;
  pmBase: number; pmWalk: number; pmEvent: number; vocWalk: number;
}

export const airQuality: Profile<AirQualityState> = {
  name: 'air-quality',
  description: 'indoor air-quality sensor: co2 (ppm, rises with office occupancy), pm2_5 (µg/m³, cooking spikes), voc (ppb)',
  kind: 'periodic',
  bounds: { co2: [400, 5000], pm2_5: [0, 1000], voc: [0, 5000] },
  init: (rng, nowMs) => ({
    startMs: nowMs, lastMs: nowMs, co2Walk: 0, co2DriftPerDay: uniform(rng, -2, 2),
    pmBase: uniform(rng, 5, 12), pmWalk: 0, pmEvent: 0, vocWalk: 0,
  }),
  next(s, nowMs, rng) {
    const dt = Math.max(0, nowMs - s.lastMs);
    const co2Walk = ouStep(s.co2Walk, dt, 1200, 60, rng);
    const pmWalk = ouStep(s.pmWalk, dt, 1800, 0.3, rng);
    const vocWalk = ouStep(s.vocWalk, dt, 900, 30, rng);
    const occupancy = bump(nowMs, 13, 3);
    // NDIR CO2 sensors drift by a few ppm a day until recalibrated.
    const co2 = clamp(420 + 700 * occupancy + co2Walk + drift(s.co2DriftPerDay, s.startMs, nowMs) + 5 * gaussian(rng), this.bounds.co2!);
    // A cooking event lifts particles at once and they settle with a ~10 minute half-life.
    const settled = s.pmEvent * Math.pow(0.5, dt / 600_000);
    const pmEvent = chance(rng, dt, 6 * HOUR_MS) ? settled + uniform(rng, 40, 150) : settled;
    const pm = clamp(s.pmBase * Math.exp(pmWalk) + pmEvent + 0.5 * gaussian(rng), this.bounds.pm2_5!);
    const voc = clamp(80 + 0.4 * (co2 - 420) + vocWalk + 5 * gaussian(rng), this.bounds.voc!);
    return {
      reading: { co2: Math.round(co2), pm2_5: round(pm, 1), voc: Math.round(voc) },
      state: { ...s, lastMs: Math.max(s.lastMs, nowMs), co2Walk, pmWalk, pmEvent, vocWalk },
    };
  },
};

interface DoorState { open: 0 | 1; battery: number; intervalMs: number }

/** A contact sensor reports changes, not a steady stream: open, closed after a dwell, then idle. */
export const door: Profile<DoorState> = {
  name: 'door',
  description: 'door/motion contact sensor: open (0/1) on each change, battery (%); events, mean rate = --rate',
  kind: 'event',
  bounds: { open: [0, 1], battery: [0, 100] },
  init: (rng, _nowMs, ctx) => ({ open: 0, battery: uniform(rng, 60, 100), intervalMs: ctx.intervalMs }),
  next(s, _nowMs, rng) {
    const open: 0 | 1 = s.open === 1 ? 0 : 1;
    // Radio transmissions dominate a contact sensor's power budget.
    const battery = Math.max(0, s.battery - 2e-5);
    // Dwell open is short; the idle gap is exponential (Poisson arrivals) and sized so an
    // open/close pair takes 2 intervals on average, keeping the mean rate at --rate.
    const dwellMax = Math.min(30_000, s.intervalMs);
    const nextInMs = open === 1
      ? uniform(rng, dwellMax / 10, dwellMax)
      : exponential(rng, 2 * s.intervalMs - 0.55 * dwellMax);
    return { reading: { open, battery: round(battery, 3) }, state: { ...s, open, battery }, nextInMs };
  },
};

export const PROFILES: readonly Profile[] = [thermostat, powerMeter, airQuality, door];
/** Not a profile: device i gets PROFILES[i mod 4], a varied fleet for demos. */
export const MIXED = 'mixed';
export const PROFILE_NAMES: readonly string[] = [...PROFILES.map((p) => p.name), MIXED];

/** The profile for device `index` (0-based) under a `--profile` name; undefined for an unknown name. */
export function profileFor(name: string, index: number): Profile | undefined {
  if (name === MIXED) return PROFILES[index % PROFILES.length];
  return PROFILES.find((p) => p.name === name);
}
