import { describe, expect, it } from 'vitest';
import { run, type CliIo } from '../../devices/cli.js';
import { helpText, parseCliArgs, parseCredentials } from '../../devices/options.js';
import { formatStatus, StatusReporter } from '../../devices/status.js';
import type { FleetStats } from '../../devices/fleet.js';

function captureIo(): CliIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    tty: false,
    stdout: (text: string) => void (io.out += text),
    stderr: (text: string) => void (io.err += text),
  };
  return io;
}

const FLAGS = [
  'url', 'count', 'rate', 'interval', 'jitter', 'qos', 'profile', 'seed', 'duration', 'messages', 'id-prefix',
  'credentials', 'ramp', 'buffer', 'malformed-rate', 'disconnect-every', 'duplicate-ids', 'storm', 'slow-subscriber', 'json', 'help',
];

describe('devices CLI flags', () => {
  it('--help documents every flag with its default, the profiles and the credentials format, and exits 0', async () => {
    const io = captureIo();
    expect(await run(['--help'], io)).toBe(0);
    for (const flag of FLAGS) expect(io.out).toMatch(new RegExp(`--${flag}\\b.*\\(default: [^)]+\\)`));
    for (const profile of ['thermostat', 'power-meter', 'air-quality', 'door', 'mixed']) expect(io.out).toContain(profile);
    expect(io.out).toContain('{ "devices": [ { "id": "sim-0001", "secret": "…" }');
    expect(io.err).toBe('');
    expect(helpText()).toBe(io.out.trimEnd());
  });

  it('an unknown flag exits 2 with a clear message, before connecting anywhere', async () => {
    const io = captureIo();
    expect(await run(['--count', '3', '--colour', 'blue'], io)).toBe(2);
    expect(io.err).toContain("Unknown option '--colour'");
    expect(io.err).toContain('--help');
    expect(io.out).toBe('');
  });

  it('reports every bad value at once and exits 2', async () => {
    const io = captureIo();
    const argv = ['--url', 'http://x', '--count', '0', '--qos', '3', '--profile', 'toaster', '--jitter', '2', '--id-prefix', 'bad prefix'];
    expect(await run(argv, io)).toBe(2);
    for (const flag of ['--url', '--count', '--qos', '--profile', '--jitter', '--id-prefix']) expect(io.err).toContain(flag);
  });

  it('a missing or malformed credentials file exits 2', async () => {
    const io = captureIo();
    expect(await run(['--credentials', '/nonexistent/creds.json'], io)).toBe(2);
    expect(io.err).toMatch(/--credentials .*ENOENT/);
  });

  it('parses defaults, --interval instead of --rate, and refuses both together', () => {
    const parsed = parseCliArgs([]);
    expect(parsed).toMatchObject({
      kind: 'run',
      options: { url: 'mqtt://localhost:1883', count: 10, rate: 1, qos: 1, profile: 'mixed', seed: 1, idPrefix: 'sim', messages: undefined, slowSubscriber: false },
    });
    expect(parseCliArgs(['--interval', '250'])).toMatchObject({ kind: 'run', options: { rate: 4 } });
    expect(parseCliArgs(['--interval', '250', '--rate', '2'])).toMatchObject({ kind: 'error' });
    expect(parseCliArgs(['--duplicate-ids', '5', '--count', '2'])).toMatchObject({ kind: 'error' });
    expect(parseCliArgs(['--count', '3', 'stray'])).toMatchObject({ kind: 'error' });
  });

  it('reads the documented credentials format and refuses anything else', () => {
    const ok = parseCredentials('{"devices":[{"id":"sim-0001","secret":"s1"},{"id":"sim-0002","secret":"s2"}]}');
    expect(ok).toEqual({ ok: true, secrets: new Map([['sim-0001', 's1'], ['sim-0002', 's2']]) });
    expect(parseCredentials('[]')).toMatchObject({ ok: false });
    expect(parseCredentials('{"devices":[{"id":"bad id","secret":"x"}]}')).toMatchObject({ ok: false });
    expect(parseCredentials('{"devices":[{"id":"sim-0001"}]}')).toMatchObject({ ok: false });
    expect(parseCredentials('{not json')).toMatchObject({ ok: false });
  });
});

describe('devices status output', () => {
  const stats = (over: Partial<FleetStats> = {}): FleetStats => ({
    connected: 9, connecting: 1, connects: 10, reconnects: 1, produced: 100, published: 100, acknowledged: 95, dropped: 0, malformed: 0,
    rejected: 0, errors: 2, lastError: null, devices: 10, connections: 10, buffered: 5, storms: 0, slowSubscriber: null,
    elapsedMs: 0, ...over,
  });

  it('shows connected/total, readings/s, acknowledged, errors, reconnects and buffered', () => {
    expect(formatStatus(stats(), 10)).toBe('connected 9/10 | 10 readings/s | acked 95 | errors 2 | reconnects 1 | buffered 5');
  });

  it('rewrites one line on a terminal, and writes a log line per period otherwise', () => {
    let tty = '';
    const live = new StatusReporter({ write: (t) => void (tty += t), tty: true, logEveryMs: 10_000 });
    live.update(stats({ elapsedMs: 1000, acknowledged: 10 }));
    live.update(stats({ elapsedMs: 2000, acknowledged: 30 }));
    live.finish();
    expect(tty.split('\r\x1b[2K')).toHaveLength(3);
    // The first line measures from the start of the fleet, not nothing.
    expect(tty.split('\r\x1b[2K')[1]).toContain('| 10 readings/s');
    expect(tty).toContain('20 readings/s');
    expect(tty.endsWith('\n')).toBe(true);

    let log = '';
    const plain = new StatusReporter({ write: (t) => void (log += t), tty: false, logEveryMs: 10_000 });
    for (let s = 1; s <= 25; s++) plain.update(stats({ elapsedMs: s * 1000, acknowledged: s * 10 }));
    expect(log.trimEnd().split('\n')).toHaveLength(2);
    expect(log).not.toContain('\r');
  });

  it('reports the rate over the whole period on a log line, not over its last second', () => {
    let log = '';
    const plain = new StatusReporter({ write: (t) => void (log += t), tty: false, logEveryMs: 10_000 });
    // 1,000 acknowledged per second, except a stall in the tenth second and a second of catching up in the twentieth.
    const acked = [0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 9000, 10000, 11000, 12000, 13000, 14000, 15000, 16000, 17000, 18000, 20000];
    acked.forEach((acknowledged, s) => plain.update(stats({ elapsedMs: s * 1000, acknowledged })));
    const rates = log.trimEnd().split('\n').map((line) => line.match(/\| (\S+) readings\/s/)![1]);
    expect(rates).toEqual(['900', '1100']);
  });
});
