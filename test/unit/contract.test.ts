import { describe, expect, it } from 'vitest';
import { MAX_METRICS, MIN_TS, parseTelemetry, type ParseOptions } from '../../broker/contract/telemetry.js';
import { isValidDeviceId, parseDeviceTopic, rejectionTopic, telemetryTopic, topicMatches } from '../../broker/contract/topics.js';

const NOW = 1_764_323_000_000;
const opts: ParseOptions = { now: NOW, maxBytes: 1024, maxFutureMs: 60_000 };
const topic = 'devices/dev-1/telemetry';
const parse = (payload: unknown, o: Partial<ParseOptions> = {}, t = topic) =>
  parseTelemetry(t, typeof payload === 'string' ? payload : JSON.stringify(payload), { ...opts, ...o });

describe('topics', () => {
  it('accepts device ids of 1-64 [A-Za-z0-9_-] and nothing else', () => {
    for (const id of ['a', 'dev-1', 'A_b-9', 'x'.repeat(64)]) expect(isValidDeviceId(id)).toBe(true);
    for (const id of ['', 'x'.repeat(65), 'a/b', 'a+b', '#', 'dév', 'a b', '../etc']) expect(isValidDeviceId(id)).toBe(false);
  });

  it('builds and parses telemetry topics', () => {
    expect(telemetryTopic('dev-1')).toBe(topic);
    expect(parseDeviceTopic(topic)).toEqual({ deviceId: 'dev-1', kind: 'telemetry', rest: ['telemetry'] });
    expect(parseDeviceTopic('devices/dev-1/shadow/update')).toEqual({ deviceId: 'dev-1', kind: 'other', rest: ['shadow', 'update'] });
    expect(parseDeviceTopic('devices/dev-1/telemetry/extra')?.kind).toBe('other');
    for (const t of ['devices/dev-1', 'device/dev-1/telemetry', 'devices/a+b/telemetry', 'devices//telemetry']) {
      expect(parseDeviceTopic(t)).toBeNull();
    }
    expect(() => telemetryTopic('bad/id')).toThrow(TypeError);
  });

  it('keeps rejection topics a single level whatever the client id', () => {
    expect(rejectionTopic('dev-1')).toBe('$events/rejected/dev-1');
    expect(rejectionTopic('a/b+c#')).toBe('$events/rejected/a_b_c_');
  });

  it('matches filters as MQTT does', () => {
    expect(topicMatches('devices/+/telemetry', topic)).toBe(true);
    expect(topicMatches('devices/#', topic)).toBe(true);
    expect(topicMatches('#', topic)).toBe(true);
    expect(topicMatches('devices/+', topic)).toBe(false);
    expect(topicMatches('devices/dev-2/telemetry', topic)).toBe(false);
    expect(topicMatches('#', '$events/rejected/x')).toBe(false);
    expect(topicMatches('+/rejected/x', '$events/rejected/x')).toBe(false);
    expect(topicMatches('$events/#', '$events/rejected/x')).toBe(true);
  });
});

describe('parseTelemetry', () => {
  it('accepts a full reading', () => {
    expect(parse({ ts: NOW - 5, seq: 3, metrics: { temperature: 21.37, 'a.b_c-d': -1e-3 } })).toEqual({
      ok: true,
      reading: { deviceId: 'dev-1', ts: NOW - 5, seq: 3, metrics: { temperature: 21.37, 'a.b_c-d': -1e-3 }, receivedAt: NOW },
    });
  });

  it('uses the receive time when ts is absent and seq null when absent', () => {
    const result = parse({ metrics: { t: 1 } });
    expect(result.ok && [result.reading.ts, result.reading.seq]).toEqual([NOW, null]);
  });

  it('accepts bytes as well as strings, and a metric named __proto__ as an ordinary entry', () => {
    const result = parseTelemetry(topic, new TextEncoder().encode('{"metrics":{"__proto__":5}}'), opts);
    expect(result.ok && Object.entries(result.reading.metrics)).toEqual([['__proto__', 5]]);
  });

  it.each([
    ['bad_json', '{"metrics":'],
    ['bad_json', '[1,2]'],
    ['bad_json', 'null'],
    ['bad_ts', { ts: '2025-01-01', metrics: { t: 1 } }],
    ['bad_ts', { ts: 1.5 + NOW, metrics: { t: 1 } }],
    ['bad_ts', { ts: MIN_TS - 1, metrics: { t: 1 } }],
    ['bad_ts', { ts: NOW + 60_001, metrics: { t: 1 } }],
    ['bad_seq', { seq: -1, metrics: { t: 1 } }],
    ['bad_seq', { seq: 'one', metrics: { t: 1 } }],
    ['no_metrics', { ts: NOW }],
    ['no_metrics', { metrics: {} }],
    ['no_metrics', { metrics: [1] }],
    ['bad_metric_name', { metrics: { 'has space': 1 } }],
    ['bad_metric_name', { metrics: { ['x'.repeat(65)]: 1 } }],
    ['bad_metric_name', { metrics: { '': 1 } }],
    ['bad_metric_value', { metrics: { t: '1' } }],
    ['bad_metric_value', { metrics: { t: null } }],
    ['bad_metric_value', { metrics: { t: true } }],
    ['too_large', { metrics: { t: 1 }, pad: 'x'.repeat(1100) }],
    ['too_large', { metrics: Object.fromEntries(Array.from({ length: MAX_METRICS + 1 }, (_, i) => [`m${i}`, i])) }],
  ])('rejects %s: %j', (reason, payload) => {
    const result = parse(payload);
    expect(result).toMatchObject({ ok: false, reason, deviceId: 'dev-1' });
    expect(!result.ok && result.message.length).toBeGreaterThan(5);
  });

  it('rejects invalid UTF-8 as bad_json', () => {
    expect(parseTelemetry(topic, new Uint8Array([0x7b, 0xff, 0x7d]), opts)).toMatchObject({ ok: false, reason: 'bad_json' });
  });

  it('rejects a topic outside telemetry and a publisher that does not own the topic', () => {
    expect(parse({ metrics: { t: 1 } }, {}, 'devices/dev-1/other')).toMatchObject({ ok: false, reason: 'foreign_topic', deviceId: null });
    expect(parse({ metrics: { t: 1 } }, { clientId: 'dev-2' })).toMatchObject({ ok: false, reason: 'foreign_topic', deviceId: 'dev-1' });
    expect(parse({ metrics: { t: 1 } }, { clientId: 'dev-1' }).ok).toBe(true);
  });
});
