import { describe, expect, it } from 'vitest';
import { canPublish, canSubscribe, type Identity } from '../../broker/mqtt/policy.js';

const device: Identity = { kind: 'device', id: 'dev-1' };
const viewer: Identity = { kind: 'viewer', tokenId: 't' };
const anonymous: Identity = { kind: 'anonymous' };

const allow = (d: { allow: boolean }) => d.allow;

describe('canPublish', () => {
  it.each([
    ['devices/dev-1/telemetry', true],
    ['devices/dev-1/shadow/update', true],
    ['devices/dev-1/shadow/get', true],
    ['devices/dev-2/telemetry', false],
    ['devices/dev-1/shadow/update/accepted', false],
    ['devices/dev-1/shadow/delta', false],
    ['devices/dev-1/commands/reboot', false],
    ['devices/dev-1', false],
    ['devices/dev-10/telemetry', false],
    ['devices/dev-1/telemetry/extra', false],
    ['other/topic', false],
    ['$events/presence/connected/dev-1', false],
    ['$SYS/broker/clients', false],
    ['$events/rejected/dev-1', false],
  ])('device dev-1 -> %s: %s', (topic, expected) => {
    expect(allow(canPublish(device, topic))).toBe(expected);
  });

  it('never lets a viewer publish', () => {
    for (const topic of ['devices/dev-1/telemetry', 'lab/x', 'devices/+/telemetry', '$events/presence/connected/x']) {
      expect(canPublish(viewer, topic)).toMatchObject({ allow: false, reason: expect.any(String) });
    }
  });

  it('lets anonymous clients (AUTH=off) publish anywhere but $ topics', () => {
    expect(allow(canPublish(anonymous, 'devices/anyone/telemetry'))).toBe(true);
    expect(allow(canPublish(anonymous, 'lab/x'))).toBe(true);
    expect(allow(canPublish(anonymous, '$events/presence/connected/x'))).toBe(false);
    expect(allow(canPublish(anonymous, '$SYS/x'))).toBe(false);
  });
});

describe('canSubscribe', () => {
  it.each([
    ['devices/dev-1/shadow/update/accepted', true],
    ['devices/dev-1/shadow/#', true],
    ['devices/dev-1/shadow/+/delta', true],
    ['devices/dev-1/shadow', true],
    ['devices/dev-1/commands/#', true],
    ['$events/rejected/dev-1', true],
    // Wildcards that could reach other devices or other subtrees:
    ['devices/+/shadow/#', false],
    ['devices/#', false],
    ['#', false],
    ['+/dev-1/shadow/#', false],
    ['devices/dev-1/#', false],
    ['devices/dev-1/+', false],
    ['devices/dev-1/+/update', false],
    ['devices/dev-1/telemetry', false],
    ['devices/dev-2/shadow/#', false],
    ['devices/dev-10/shadow/#', false],
    ['$events/rejected/+', false],
    ['$events/rejected/#', false],
    ['$events/rejected/dev-1/x', false],
    ['$events/presence/#', false],
    ['$SYS/#', false],
  ])('device dev-1 subscribes %s: %s', (filter, expected) => {
    expect(allow(canSubscribe(device, filter))).toBe(expected);
  });

  it.each([
    ['devices/+/telemetry', true],
    ['devices/dev-1/telemetry', true],
    ['$events/presence/#', true],
    ['$events/presence/connected/+', true],
    ['devices/#', false],
    ['devices/+/#', false],
    ['devices/+/+', false],
    ['devices/dev-1/shadow/#', false],
    ['devices/dev-1/commands/#', false],
    ['devices/bad id/telemetry', false],
    ['#', false],
    ['+/+/telemetry', false],
    ['$events/#', false],
    ['$events/rejected/dev-1', false],
    ['$SYS/#', false],
  ])('viewer subscribes %s: %s', (filter, expected) => {
    expect(allow(canSubscribe(viewer, filter))).toBe(expected);
  });

  it('lets anonymous clients subscribe to anything', () => {
    for (const filter of ['#', 'devices/+/shadow/#', '$SYS/#']) expect(allow(canSubscribe(anonymous, filter))).toBe(true);
  });

  it('explains every denial', () => {
    expect(canSubscribe(device, '#')).toEqual({ allow: false, reason: expect.stringContaining('dev-1') });
    expect(canSubscribe(viewer, '#')).toEqual({ allow: false, reason: expect.stringContaining('telemetry') });
  });
});
