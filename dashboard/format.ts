// How figures read on screen. Pure, so the e2e test and the unit tests agree on
// what "filled in" looks like.

/** Shown for a figure that has no value yet. */
export const NO_VALUE = '—';

/** Milliseconds up to 10 s, then seconds: a delay of 12,345 ms reads better as 12.3 s. */
export function formatMs(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return NO_VALUE;
  if (Math.abs(ms) < 10_000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

const BYTE_UNITS = ['B', 'kB', 'MB', 'GB'] as const;

/** Decimal units (1 kB = 1000 B), as network tools count. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1000 && unit < BYTE_UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${BYTE_UNITS[unit]}`;
}

/** A count with its recent rate, e.g. `120 · 1.0/s`; the rate is left off until there is one. */
export function formatCount(count: number, perSecond: number | null): string {
  return perSecond === null ? String(count) : `${count} · ${perSecond.toFixed(1)}/s`;
}

/** A byte rate, e.g. `120 B/s`. */
export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** A share 0..1 as a whole percentage; a dash when undefined. */
export function formatPercent(share: number | null): string {
  return share === null ? NO_VALUE : `${Math.round(share * 100)} %`;
}

/** A ratio such as updates per request: one decimal below 10, whole numbers above. */
export function formatRatio(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return NO_VALUE;
  return value < 10 ? value.toFixed(1) : String(Math.round(value));
}

/**
 * Labels for a chart axis's ticks, with as many decimals as the step between
 * them needs. uPlot's default stops at three, so a battery level moving by
 * thousandths had ticks 0.0005 apart labelled 94.217, 94.218, 94.218.
 */
export function tickLabels(ticks: readonly number[], step: number): string[] {
  const [mantissa = '', exponent = '0'] = Number(step.toPrecision(6)).toExponential().split('e');
  const decimals = Math.min(12, Math.max(0, (mantissa.split('.')[1]?.length ?? 0) - Number(exponent)));
  return ticks.map((v) => v.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals }));
}
