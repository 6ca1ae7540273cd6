// The topic scheme every part agrees on (see DESIGN.md §2). Pure: imported by
// the gateway, the simulators and the browser bundle alike, so no `node:` here.

export const DEVICE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const DEVICE_ROOT = 'devices';
/** Gateway-only prefix for lifecycle and rejection notices; clients may not publish under it. */
export const EVENTS_ROOT = '$events';

export type DeviceTopicKind = 'telemetry' | 'other';

export interface DeviceTopic {
  deviceId: string;
  kind: DeviceTopicKind;
  /** Levels after `devices/{id}/`, e.g. `['shadow', 'update']`. */
  rest: string[];
}

export function isValidDeviceId(id: string): boolean {
  return DEVICE_ID_PATTERN.test(id);
}

export function telemetryTopic(deviceId: string): string {
  if (!isValidDeviceId(deviceId)) throw new TypeError(`invalid device id: ${JSON.stringify(deviceId)}`);
  return `${DEVICE_ROOT}/${deviceId}/telemetry`;
}

/** Subscription filter for every device's telemetry. */
export const ALL_TELEMETRY = `${DEVICE_ROOT}/+/telemetry`;

/**
 * Where the gateway tells a client why a publish was refused. MQTT 3.1.1 has no
 * negative acknowledgement [MQTT-3.4], so a device that wants to know subscribes here.
 */
export function rejectionTopic(clientId: string): string {
  // Client ids may contain topic separators and wildcards; a topic level may not.
  return `${EVENTS_ROOT}/rejected/${clientId.replace(/[/+#]/g, '_')}`;
}

/** Parses `devices/{id}/...`; `null` for any topic outside the device tree or with a bad id. */
export function parseDeviceTopic(topic: string): DeviceTopic | null {
  const levels = topic.split('/');
  if (levels.length < 3 || levels[0] !== DEVICE_ROOT) return null;
  const deviceId = levels[1]!;
  if (!isValidDeviceId(deviceId)) return null;
  const rest = levels.slice(2);
  const kind: DeviceTopicKind = rest.length === 1 && rest[0] === 'telemetry' ? 'telemetry' : 'other';
  return { deviceId, kind, rest };
}

/** MQTT topic filter matching with `+` and `#` [MQTT-4.7.1]; `$` topics never match a leading wildcard [MQTT-4.7.2-1]. */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === '#') return true;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}
