// Request schemas and lookups shared by the device routes.
import { METRIC_NAME_PATTERN } from '../contract/telemetry.js';
import { DEVICE_ID_PATTERN } from '../contract/topics.js';
import { RequestError } from '../errors.js';
import type { TelemetryStore } from '../store/store.js';

export const deviceParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: DEVICE_ID_PATTERN.source } },
} as const;

const metricProperty = { type: 'string', pattern: METRIC_NAME_PATTERN.source } as const;

/**
 * Cursors are opaque to clients; the store validates their form. The
 * InfluxDB store's carry one position per gateway that wrote the series
 * (store/influx-cursor.ts: at most 64 of about 80 characters).
 */
export const cursorProperty = { type: 'string', maxLength: 8192 } as const;

/** Route schema of a device route taking `metric` and the given further query parameters, and nothing else. */
export function metricRouteSchema(extra: Record<string, object>) {
  return {
    params: deviceParams,
    querystring: {
      type: 'object',
      required: ['metric'],
      additionalProperties: false,
      properties: { metric: metricProperty, ...extra },
    },
  } as const;
}

export interface DeviceParams {
  id: string;
}

/** Distinguishes an unknown device from a known device without that metric. */
export async function notFound(store: TelemetryStore, deviceId: string, metric: string): Promise<RequestError> {
  const device = await store.getDevice(deviceId);
  return device
    ? new RequestError('unknown_metric', `device ${deviceId} has no metric ${metric}; it has ${device.metrics.join(', ')}`, 404)
    : new RequestError('unknown_device', `no device ${deviceId} has stored telemetry`, 404);
}

/** 503 with Retry-After when a bounded resource (long polls, streams) is exhausted. */
export class CapacityError extends RequestError {
  constructor(what: string, limit: number) {
    super('over_capacity', `too many open ${what} (limit ${limit}); retry shortly`, 503);
  }
}
