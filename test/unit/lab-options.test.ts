import { describe, expect, it } from 'vitest';
import { run } from '../../lab/compare.js';
import { COMPARE_DEFAULTS, helpText, parseCompareArgs } from '../../lab/options.js';

function capture() {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: (t: string) => void (out.stdout += t), stderr: (t: string) => void (out.stderr += t) } };
}

describe('compare flags', () => {
  it('defaults every flag', () => {
    expect(parseCompareArgs([])).toEqual({ kind: 'ok', options: COMPARE_DEFAULTS });
  });

  it('parses every flag', () => {
    const parsed = parseCompareArgs([
      '--duration', '60', '--devices', '10', '--rate', '2.5', '--clients', '5', '--poll', '0.5',
      '--url', 'http://gw:8080/', '--mqtt-url', 'mqtt://gw:1883', '--json', 'out.json',
    ]);
    expect(parsed).toEqual({
      kind: 'ok',
      options: { durationS: 60, devices: 10, rate: 2.5, clients: 5, pollS: 0.5, url: 'http://gw:8080', mqttUrl: 'mqtt://gw:1883', jsonPath: 'out.json' },
    });
  });

  it('reports every bad value at once', () => {
    const parsed = parseCompareArgs(['--devices', '1.5', '--rate', '0', '--poll', 'x', '--url', 'ftp://gw', '--mqtt-url', 'http://gw']);
    expect(parsed.kind).toBe('error');
    const problems = parsed.kind === 'error' ? parsed.problems : [];
    expect(problems).toHaveLength(5);
    expect(problems[0]).toMatch(/--devices "1.5": expected an integer from 1 to 1000/);
    expect(problems.join('\n')).toMatch(/--url "ftp:\/\/gw": expected a http or https URL/);
  });

  it('refuses unknown flags and positionals', () => {
    expect(parseCompareArgs(['--nope']).kind).toBe('error');
    expect(parseCompareArgs(['extra']).kind).toBe('error');
  });

  it('exits 2 on bad flags and 0 with the help, touching no gateway', async () => {
    const bad = capture();
    expect(await run(['--clients', '0'], bad.io)).toBe(2);
    expect(bad.out.stderr).toMatch(/--clients "0".*\n.*--help/);
    const help = capture();
    expect(await run(['--help'], help.io)).toBe(0);
    expect(help.out.stdout).toBe(`${helpText()}\n`);
    expect(help.out.stdout).toMatch(/--duration <s>/);
  });
});
