import { describe, expect, it } from 'vitest';
import { run } from '../../bench/suite/main.js';
import { helpText, parseSuiteArgs, SUITE_DEFAULTS, warmupSeconds } from '../../bench/suite/options.js';

function capture() {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: (t: string) => void (out.stdout += t), stderr: (t: string) => void (out.stderr += t) } };
}

describe('bench flags', () => {
  it('defaults every flag', () => {
    expect(parseSuiteArgs([])).toEqual({ kind: 'ok', options: SUITE_DEFAULTS });
  });

  it('parses every flag', () => {
    const parsed = parseSuiteArgs([
      '--only', 'ingest,fan-in', '--seconds', '2.5', '--repeat', '3', '--transport', 'ws', '--clients', '10',
      '--devices', '50', '--rate', '2', '--inflight', '5', '--idle', '200', '--hold', '300', '--mosquitto', 'off', '--out', 'x.json',
    ]);
    expect(parsed).toEqual({
      kind: 'ok',
      options: {
        only: ['fan-in', 'ingest'], seconds: 2.5, repeat: 3, transports: ['ws'], clients: 10, devices: 50, rate: 2,
        inflight: 5, idle: 200, hold: 300, mosquitto: null, out: 'x.json',
      },
    });
  });

  it('reports every bad value at once', () => {
    const parsed = parseSuiteArgs(['--only', 'fan-in,nope', '--seconds', '0', '--repeat', '1.5', '--transport', 'udp', '--out', '']);
    expect(parsed.kind).toBe('error');
    const problems = parsed.kind === 'error' ? parsed.problems : [];
    expect(problems).toHaveLength(5);
    expect(problems[0]).toMatch(/--only "fan-in,nope": expected a comma-separated list of fan-in, fixed-rate/);
    expect(problems.join('\n')).toMatch(/--transport "udp": expected tcp, ws or both/);
  });

  it('refuses unknown flags and positionals', () => {
    expect(parseSuiteArgs(['--nope']).kind).toBe('error');
    expect(parseSuiteArgs(['extra']).kind).toBe('error');
  });

  it('documents every flag with its default', () => {
    for (const flag of ['--only', '--seconds', '--repeat', '--transport', '--clients', '--devices', '--rate', '--inflight', '--idle', '--hold', '--mosquitto', '--out', '--help']) {
      expect(helpText()).toContain(flag);
    }
    expect(helpText()).toMatch(/--hold <n> .*\(19000/);
  });

  it('warms up a fifth of a short run, two seconds of a long one', () => {
    expect(warmupSeconds(3)).toBeCloseTo(0.6);
    expect(warmupSeconds(10)).toBe(2);
    expect(warmupSeconds(60)).toBe(2);
  });

  it('exits 2 on bad flags and 0 with the help, starting nothing', async () => {
    const bad = capture();
    expect(await run(['--repeat', '0'], bad.io)).toBe(2);
    expect(bad.out.stderr).toMatch(/--repeat "0".*\n.*--help/);
    const help = capture();
    expect(await run(['--help'], help.io)).toBe(0);
    expect(help.out.stdout).toBe(`${helpText()}\n`);
  });
});
