import { describe, expect, it } from 'vitest';
import { parseTelemetry, REJECT_REASONS } from '../../broker/contract/telemetry.js';
import { malformedCycle, malformedPayload } from '../../devices/faults.js';

const NOW = Date.UTC(2026, 0, 5, 12);
const parse = (topic: string, payload: string) =>
  parseTelemetry(topic, Buffer.from(payload), { now: NOW, maxBytes: 16_384, maxFutureMs: 300_000, clientId: 'sim-0001' });

describe('malformed payloads', () => {
  it.each(REJECT_REASONS.map((r) => [r]))('%s: the contract refuses it for exactly that reason', (reason) => {
    const bad = malformedPayload(reason, 'sim-0001', 'sim-0002', NOW);
    const result = parse(bad.topic, bad.payload);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toBe(reason);
  });

  it('foreign_topic goes to the peer device topic, everything else to the device own', () => {
    for (const reason of REJECT_REASONS) {
      const { topic } = malformedPayload(reason, 'sim-0001', 'sim-0002', NOW);
      expect(topic).toBe(reason === 'foreign_topic' ? 'devices/sim-0002/telemetry' : 'devices/sim-0001/telemetry');
    }
  });

  it('too_large is refused even by a gateway configured with a generous byte limit', () => {
    const bad = malformedPayload('too_large', 'sim-0001', 'sim-0002', NOW);
    const result = parseTelemetry(bad.topic, bad.payload, { now: NOW, maxBytes: 1_048_576, maxFutureMs: 0, clientId: 'sim-0001' });
    expect(result.ok ? null : result.reason).toBe('too_large');
  });

  it('the fleet-wide cycle hands out every rejection class in turn', () => {
    const next = malformedCycle();
    const reasons = Array.from({ length: 2 * REJECT_REASONS.length }, () => {
      const bad = next('sim-0001', 'sim-0002', NOW);
      const result = parse(bad.topic, bad.payload);
      return result.ok ? 'accepted' : result.reason;
    });
    expect(reasons).toEqual([...REJECT_REASONS, ...REJECT_REASONS]);
  });
});
