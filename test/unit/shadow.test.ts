import { describe, expect, it } from 'vitest';
import { applyUpdate, computeDelta, describe as describeShadow, parseUpdate, type ShadowDocument, type UpdateRequest } from '../../broker/shadow/document.js';

const T = 1_764_323_000;

/** Runs a sequence of update bodies and returns the document and outcomes, failing on any rejection. */
function run(bodies: unknown[], start: ShadowDocument | null = null) {
  let doc = start;
  const outcomes = [];
  for (const [i, body] of bodies.entries()) {
    const parsed = parseUpdate(body);
    if (!parsed.ok) throw new Error(`request ${i}: ${parsed.error.message}`);
    const result = applyUpdate(doc, parsed.request, T + i);
    if (!result.ok) throw new Error(`request ${i}: ${result.error.message}`);
    doc = result.outcome.document;
    outcomes.push(result.outcome);
  }
  return { doc: doc!, outcomes };
}

function reject(body: unknown, current: ShadowDocument | null = null) {
  const parsed = parseUpdate(body);
  if (!parsed.ok) return parsed.error;
  const result = applyUpdate(current, parsed.request as UpdateRequest, T);
  return result.ok ? null : result.error;
}

describe('shadow updates (IoT Core semantics)', () => {
  it('creates a shadow at version 1 and publishes a delta while nothing is reported', () => {
    const { doc, outcomes } = run([{ state: { desired: { color: 'red', power: 'on' } }, clientToken: 'app-1' }]);
    expect(doc.version).toBe(1);
    expect(doc.state).toEqual({ desired: { color: 'red', power: 'on' } });
    expect(doc.metadata.desired).toEqual({ color: { timestamp: T }, power: { timestamp: T } });
    expect(outcomes[0]!.accepted).toEqual({
      state: { desired: { color: 'red', power: 'on' } },
      metadata: { desired: { color: { timestamp: T }, power: { timestamp: T } } },
      version: 1, timestamp: T, clientToken: 'app-1',
    });
    expect(outcomes[0]!.delta).toEqual({ state: { color: 'red', power: 'on' }, metadata: { color: { timestamp: T }, power: { timestamp: T } }, version: 1, timestamp: T, clientToken: 'app-1' });
  });

  it('publishes no delta when the device reports what was desired, and one when desired changes again', () => {
    const { doc, outcomes } = run([
      { state: { desired: { color: 'red' } } },
      { state: { reported: { color: 'red' } } },
      { state: { desired: { color: 'green' } } },
    ]);
    expect(outcomes.map((o) => o.delta?.state ?? null)).toEqual([{ color: 'red' }, null, { color: 'green' }]);
    expect(doc.version).toBe(3);
    expect(describeShadow(doc).state).toEqual({ desired: { color: 'green' }, reported: { color: 'red' }, delta: { color: 'green' } });
  });

  it('a reported update alone never publishes a delta, even while states differ', () => {
    const { outcomes } = run([{ state: { desired: { a: 1 } } }, { state: { reported: { a: 2 } } }]);
    expect(outcomes[1]!.delta).toBeNull();
  });

  it('deletes a field with null, and a whole section with null', () => {
    const { doc } = run([
      { state: { desired: { color: 'red', power: 'on' }, reported: { color: 'blue' } } },
      { state: { desired: { color: null } } },
    ]);
    expect(doc.state.desired).toEqual({ power: 'on' });
    expect(doc.metadata.desired).toEqual({ power: { timestamp: T } });
    const cleared = run([{ state: { desired: null } }], doc).doc;
    expect(cleared.state).toEqual({ reported: { color: 'blue' } });
    expect(cleared.metadata).toEqual({ reported: { color: { timestamp: T } } });
  });

  it('merges nested objects and computes a nested delta', () => {
    const { doc, outcomes } = run([
      { state: { reported: { lights: { kitchen: { on: false, level: 3 }, hall: { on: true } } } } },
      { state: { desired: { lights: { kitchen: { on: true } } } } },
    ]);
    expect(outcomes[1]!.delta!.state).toEqual({ lights: { kitchen: { on: true } } });
    expect(outcomes[1]!.delta!.metadata).toEqual({ lights: { kitchen: { on: { timestamp: T + 1 } } } });
    const merged = run([{ state: { reported: { lights: { kitchen: { on: true } } } } }], doc).doc;
    expect(merged.state.reported).toEqual({ lights: { kitchen: { on: true, level: 3 }, hall: { on: true } } });
    expect(computeDelta(merged.state.desired, merged.state.reported)).toEqual({});
  });

  it('treats arrays as values: replaced whole, compared whole', () => {
    const { doc, outcomes } = run([
      { state: { reported: { schedule: [1, 2, 3] } } },
      { state: { desired: { schedule: [1, 2] } } },
    ]);
    expect(outcomes[1]!.delta!.state).toEqual({ schedule: [1, 2] });
    expect(run([{ state: { reported: { schedule: [1, 2] } } }], doc).doc.state.reported).toEqual({ schedule: [1, 2] });
  });

  it('publishes previous and current documents', () => {
    const { outcomes } = run([{ state: { desired: { a: 1 } } }, { state: { desired: { a: 2 } }, clientToken: 't' }]);
    expect(outcomes[1]!.documents).toMatchObject({
      previous: { state: { desired: { a: 1 } }, version: 1 },
      current: { state: { desired: { a: 2 } }, version: 2 },
      clientToken: 't',
    });
  });
});

describe('shadow rejections', () => {
  const current = run([{ state: { desired: { a: 1 } } }, { state: { desired: { a: 2 } } }]).doc;

  it.each([
    ['version conflict', { state: { desired: { a: 3 } }, version: 1 }, 409],
    ['not an object', [1, 2], 400],
    ['no state', { desired: { a: 1 } }, 400],
    ['empty state', { state: {} }, 400],
    ['unknown section', { state: { delta: { a: 1 } } }, 400],
    ['section not an object', { state: { desired: 5 } }, 400],
    ['too deep', { state: { desired: { a: { b: { c: { d: { e: { f: { g: 1 } } } } } } } } }, 400],
    ['bad version', { state: { desired: { a: 1 } }, version: 'x' }, 400],
    ['bad clientToken', { state: { desired: { a: 1 } }, clientToken: 'x'.repeat(65) }, 400],
    ['request too large', { state: { desired: { blob: 'x'.repeat(20_000) } } }, 413],
    ['state too large', { state: { desired: { blob: 'x'.repeat(9_000) } } }, 413],
  ])('%s -> %i', (_name, body, code) => {
    expect(reject(body, current)).toMatchObject({ code, message: expect.any(String) });
  });

  it('accepts the current version and six levels of nesting', () => {
    expect(reject({ state: { desired: { a: 3 } }, version: 2 }, current)).toBeNull();
    expect(reject({ state: { desired: { a: { b: { c: { d: { e: { f: 1 } } } } } } } }, current)).toBeNull();
  });
});
