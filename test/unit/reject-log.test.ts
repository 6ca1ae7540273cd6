import { describe, expect, it } from 'vitest';
import { RejectLog, type RejectLogEntry } from '../../broker/ingest/reject-log.js';

describe('RejectLog', () => {
  it('logs the first rejection per client and reason, then one summary line per window', () => {
    let now = 0;
    const lines: RejectLogEntry[] = [];
    const log = new RejectLog((e) => lines.push(e), () => now, 1000);
    for (let i = 0; i < 50; i++) log.record('dev-1', 'bad_json', 'not json');
    log.record('dev-1', 'bad_ts', 'future');
    log.record('dev-2', 'bad_json', 'not json');
    expect(lines.map((l) => [l.clientId, l.reason, l.suppressed])).toEqual([
      ['dev-1', 'bad_json', 0], ['dev-1', 'bad_ts', 0], ['dev-2', 'bad_json', 0],
    ]);
    now = 1000;
    log.record('dev-1', 'bad_json', 'not json');
    expect(lines.at(-1)).toMatchObject({ clientId: 'dev-1', reason: 'bad_json', suppressed: 49 });
  });

  it('stays bounded under many distinct client ids', () => {
    const lines: RejectLogEntry[] = [];
    const log = new RejectLog((e) => lines.push(e), () => 0, 1000, 100);
    for (let i = 0; i < 1000; i++) log.record(`c${i}`, 'bad_json', 'x');
    expect(lines).toHaveLength(1000);
    expect((log as unknown as { slots: Map<string, unknown> }).slots.size).toBeLessThanOrEqual(100);
  });
});
