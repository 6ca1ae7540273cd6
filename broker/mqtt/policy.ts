// Least-privilege topic policy, as IoT Core policies with ${iot:ClientId}:
// one pure function per action, exhaustively tested in test/unit/policy.test.ts.
// A subscription is allowed only when every topic its filter could match is
// allowed, so no wildcard can reach another device's topics.
import { DEVICE_ROOT, EVENTS_ROOT, isValidDeviceId } from '../contract/topics.js';

export type Identity =
  | { kind: 'device'; id: string }
  /** A browser holding a read-only token from the HTTP API. */
  | { kind: 'viewer'; tokenId: string }
  /** AUTH=off: anyone, for local experiments with third-party tools. */
  | { kind: 'anonymous' };

export type Decision = { allow: true } | { allow: false; reason: string };

/** Every anonymous client shares this one identity. */
export const ANONYMOUS: Identity = Object.freeze({ kind: 'anonymous' });

const ALLOW: Decision = { allow: true };
const deny = (reason: string): Decision => ({ allow: false, reason });

/** Topics a device publishes to, under devices/{id}/. */
const DEVICE_PUBLISH = ['telemetry', 'shadow/update', 'shadow/get'];
/** Subtrees a device may subscribe in, under devices/{id}/. */
const DEVICE_SUBSCRIBE = ['shadow', 'commands'];
/** Subtrees a viewer may subscribe in. */
const VIEWER_SUBTREES = [[EVENTS_ROOT, 'presence']];

/** True when every topic matching `filter` lies in the subtree `prefix` (literal levels). */
function within(filter: string[], prefix: readonly string[]): boolean {
  if (filter.length < prefix.length) return false;
  return prefix.every((level, i) => filter[i] === level);
}

export function canPublish(identity: Identity, topic: string): Decision {
  if (topic.startsWith('$')) return deny('topics starting with $ are reserved for the gateway');
  switch (identity.kind) {
    case 'anonymous':
      return ALLOW;
    case 'viewer':
      return deny('viewer tokens are read-only');
    case 'device': {
      const own = `${DEVICE_ROOT}/${identity.id}/`;
      if (topic.startsWith(own) && DEVICE_PUBLISH.includes(topic.slice(own.length))) return ALLOW;
      return deny(`device ${identity.id} may publish only to ${own}{${DEVICE_PUBLISH.join(',')}}`);
    }
  }
}

export function canSubscribe(identity: Identity, filter: string): Decision {
  const levels = filter.split('/');
  switch (identity.kind) {
    case 'anonymous':
      return ALLOW;
    case 'viewer': {
      const [root, device, leaf] = levels;
      const telemetry = levels.length === 3 && root === DEVICE_ROOT && leaf === 'telemetry' && (device === '+' || isValidDeviceId(device!));
      if (telemetry || VIEWER_SUBTREES.some((prefix) => within(levels, prefix))) return ALLOW;
      return deny('viewers may subscribe to devices/{id|+}/telemetry and $events/presence/# only');
    }
    case 'device': {
      const allowed =
        DEVICE_SUBSCRIBE.some((sub) => within(levels, [DEVICE_ROOT, identity.id, sub])) ||
        (levels.length === 3 && within(levels, [EVENTS_ROOT, 'rejected', identity.id]));
      if (allowed) return ALLOW;
      return deny(`device ${identity.id} may subscribe only under devices/${identity.id}/{${DEVICE_SUBSCRIBE.join(',')}}/ and to its rejection topic`);
    }
  }
}
