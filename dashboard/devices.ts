// The device list (GET /api/devices) and which device and metric the panels
// show. The choice is a pure function of the list and what was asked for, so a
// refresh never jumps the selection around unless the asked-for device is gone.
import type { SourceTarget } from './source.js';

export interface DeviceInfo {
  id: string;
  online: boolean;
  lastSeen: number | null;
  metrics: string[];
}

/** Validates the response shape; malformed entries are dropped rather than breaking the picker. */
export function parseDevices(body: unknown): DeviceInfo[] {
  const list = (body as { devices?: unknown } | null)?.devices;
  if (!Array.isArray(list)) throw new Error('devices response lacks devices[]');
  const devices: DeviceInfo[] = [];
  for (const entry of list as unknown[]) {
    const d = entry as Partial<Record<keyof DeviceInfo, unknown>> | null;
    if (!d || typeof d.id !== 'string' || !Array.isArray(d.metrics)) continue;
    devices.push({
      id: d.id,
      online: d.online === true,
      lastSeen: typeof d.lastSeen === 'number' ? d.lastSeen : null,
      metrics: d.metrics.filter((m): m is string => typeof m === 'string').sort(),
    });
  }
  return devices.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export async function fetchDevices(baseUrl: string, fetchFn: typeof fetch = fetch): Promise<DeviceInfo[]> {
  const res = await fetchFn(`${baseUrl}/api/devices`, { headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`GET /api/devices: HTTP ${res.status}`);
  return parseDevices(await res.json());
}

/** What the person (or the page URL) asked for; either part may be missing. */
export interface Wanted {
  deviceId: string | null;
  metric: string | null;
}

/**
 * The asked-for device if it is listed, else the first online device that has
 * sent readings, else the first that has; then the asked-for metric if that
 * device has it, else its first. Null while there is nothing to show (also
 * while the asked-for device has sent nothing yet: its first reading shows).
 */
export function resolveTarget(devices: readonly DeviceInfo[], wanted: Wanted): SourceTarget | null {
  const hasMetrics = (d: DeviceInfo) => d.metrics.length > 0;
  const device = devices.find((d) => d.id === wanted.deviceId) ?? devices.find((d) => d.online && hasMetrics(d)) ?? devices.find(hasMetrics);
  if (!device) return null;
  const metric = wanted.metric !== null && device.metrics.includes(wanted.metric) ? wanted.metric : device.metrics[0];
  return metric === undefined ? null : { deviceId: device.id, metric };
}

/**
 * What a refresh of the list shows: what was asked for, else what is shown
 * now, so a device coming online or going offline does not move the panels;
 * only when neither is listed any more does it fall back to resolveTarget's choice.
 */
export function nextTarget(devices: readonly DeviceInfo[], wanted: Wanted, current: SourceTarget | null): SourceTarget | null {
  return resolveTarget(devices, { deviceId: wanted.deviceId ?? current?.deviceId ?? null, metric: wanted.metric ?? current?.metric ?? null });
}

export function sameTarget(a: SourceTarget | null, b: SourceTarget | null): boolean {
  return a === b || (a !== null && b !== null && a.deviceId === b.deviceId && a.metric === b.metric);
}

/** How far a series' values move for their size: range over mean magnitude (over 1 when the mean is 0). */
function spread(values: readonly number[]): number {
  if (values.length < 2) return 0;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of values) {
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
  }
  const magnitude = Math.abs(sum / values.length);
  return (max - min) / (magnitude > 0 ? magnitude : 1);
}

/**
 * The metric whose recent values move the most for their size: the lab's
 * default when nothing names one. The list is sorted by name, so a
 * thermostat's first metric is battery, which drains by thousandths and draws
 * four flat lines; its temperature swings by degrees. Ties keep list order.
 */
export function liveliestMetric(recent: ReadonlyArray<readonly [metric: string, values: readonly number[]]>): string | null {
  let best: string | null = null;
  let bestSpread = -1;
  for (const [metric, values] of recent) {
    const s = spread(values);
    if (s > bestSpread) [best, bestSpread] = [metric, s];
  }
  return best;
}
