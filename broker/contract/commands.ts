// What a simulated device accepts in its shadow's desired state, shared by
// the simulators that apply it and the dashboard form that sends it. Pure:
// part of the browser bundle, so no `node:` here.

/** `intervalMs`, the gap between readings: from a tenth of a second to an hour. */
export const INTERVAL_LIMITS_MS = { min: 100, max: 3_600_000 } as const;

export function isValidIntervalMs(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= INTERVAL_LIMITS_MS.min && v <= INTERVAL_LIMITS_MS.max;
}
