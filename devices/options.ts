// Flags of `npm run devices` (issue #4, item 1): one table drives parseArgs,
// validation and --help, so a flag cannot exist without its documented
// default. Pure: the CLI reads the credentials file and passes its text in.
import { parseArgs } from 'node:util';
import { isValidDeviceId } from '../broker/contract/topics.js';
import { FLEET_DEFAULTS } from './fleet.js';
import { PROFILE_NAMES, PROFILES } from './profiles.js';

interface Flag {
  type: 'string' | 'boolean';
  value?: string;
  default: string;
  help: string;
}

const FLAGS = {
  url: { type: 'string', value: 'URL', default: 'mqtt://localhost:1883', help: 'gateway: mqtt://, mqtts://, ws://host:port/mqtt or wss://' },
  count: { type: 'string', value: 'N', default: '10', help: 'devices to simulate (1-100000)' },
  rate: { type: 'string', value: 'R', default: '1', help: 'readings per second per device (event profiles: mean rate)' },
  interval: { type: 'string', value: 'MS', default: '1000/rate', help: 'ms between readings; instead of --rate' },
  jitter: { type: 'string', value: 'F', default: String(FLEET_DEFAULTS.jitter), help: 'each gap varies by ±F·interval (0-1)' },
  qos: { type: 'string', value: 'Q', default: String(FLEET_DEFAULTS.qos), help: 'MQTT QoS of readings: 0, 1 or 2' },
  profile: { type: 'string', value: 'NAME', default: FLEET_DEFAULTS.profile, help: `sensor model: ${PROFILE_NAMES.join(', ')}` },
  seed: { type: 'string', value: 'N', default: String(FLEET_DEFAULTS.seed), help: 'random seed (0-4294967295); same seed and flags, same series' },
  duration: { type: 'string', value: 'S', default: '0', help: 'stop after S seconds; 0 runs until Ctrl-C (or --messages)' },
  messages: { type: 'string', value: 'N', default: '0', help: 'readings per device, then stop once all are acknowledged; 0: no limit' },
  'id-prefix': { type: 'string', value: 'P', default: FLEET_DEFAULTS.idPrefix, help: 'device ids are P-0001, P-0002, …' },
  credentials: { type: 'string', value: 'FILE', default: 'none', help: 'per-device secrets, see below' },
  ramp: { type: 'string', value: 'N', default: String(FLEET_DEFAULTS.ramp), help: 'new connections per second at start; 0: all at once' },
  buffer: { type: 'string', value: 'N', default: String(FLEET_DEFAULTS.bufferSize), help: 'offline buffer per device, readings; overflow drops the oldest' },
  'malformed-rate': { type: 'string', value: 'F', default: '0', help: 'share of payloads (0-1) replaced by malformed ones, cycling through every rejection reason' },
  'disconnect-every': { type: 'string', value: 'S', default: '0', help: 'each device drops its socket at random, on average every S seconds; 0: never' },
  'duplicate-ids': { type: 'string', value: 'N', default: '0', help: 'N devices get a second connection with the same client id' },
  storm: { type: 'string', value: 'S', default: '0', help: 'every S seconds all devices drop and reconnect at once, ignoring backoff; 0: never' },
  'slow-subscriber': { type: 'boolean', default: 'off', help: 'add a subscriber to devices/+/telemetry that reads at a trickle' },
  'log-every': { type: 'string', value: 'S', default: '10', help: 'seconds between status lines when stderr is not a terminal' },
  json: { type: 'boolean', default: 'off', help: 'print the final summary as JSON on stdout' },
  help: { type: 'boolean', default: 'off', help: 'show this help' },
} satisfies Record<string, Flag>;

export interface CliOptions {
  url: string;
  count: number;
  rate: number;
  jitter: number;
  qos: 0 | 1 | 2;
  profile: string;
  seed: number;
  durationS: number;
  messages: number | undefined;
  idPrefix: string;
  credentialsPath: string | undefined;
  ramp: number;
  bufferSize: number;
  malformedRate: number;
  disconnectEveryS: number;
  duplicateIds: number;
  stormEveryS: number;
  slowSubscriber: boolean;
  logEveryS: number;
  json: boolean;
}

export type ParsedArgs = { kind: 'help' } | { kind: 'run'; options: CliOptions } | { kind: 'error'; problems: string[] };

export function helpText(): string {
  const rows = Object.entries(FLAGS).map(([name, f]: [string, Flag]) => {
    const left = `  --${name}${f.value ? ` ${f.value}` : ''}`;
    return `${left.padEnd(28)} ${f.help} (default: ${f.default})`;
  });
  return [
    'Usage: npm run devices -- [flags]    (built: node dist/devices/cli.js [flags])',
    '',
    'Simulated MQTT devices publishing {"ts","seq","metrics"} on devices/{id}/telemetry.',
    '',
    'Flags:',
    ...rows,
    '',
    'Profiles:',
    ...PROFILES.map((p) => `  ${p.name.padEnd(12)} ${p.description}`),
    `  ${'mixed'.padEnd(12)} device i gets the i-th profile above, round robin`,
    '',
    'Credentials file (--credentials), for a gateway that requires them:',
    '  { "devices": [ { "id": "sim-0001", "secret": "…" }, … ] }',
    '  Each device connects with MQTT username = client id = its id and password = its secret;',
    '  every simulated id must be listed. The slow subscriber uses the entry "<prefix>-slow-subscriber" if present.',
    '',
    'Exit codes: 0 done, 1 failed (e.g. readings left unacknowledged), 2 bad flags.',
  ].join('\n');
}

class Problems {
  readonly list: string[] = [];
  number(name: string, text: string, min: number, max: number, integer = false): number {
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
      this.list.push(`--${name} ${JSON.stringify(text)}: expected ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`);
      return min;
    }
    return value;
  }
}

export function parseCliArgs(argv: readonly string[]): ParsedArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    const options = Object.fromEntries(Object.entries(FLAGS).map(([name, f]) => [name, { type: f.type }]));
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
  } catch (err) {
    return { kind: 'error', problems: [(err as Error).message] };
  }
  if (values.help) return { kind: 'help' };
  const p = new Problems();
  const str = (name: keyof typeof FLAGS): string => {
    const value = values[name];
    return typeof value === 'string' ? value : FLAGS[name].default;
  };

  const url = str('url');
  if (!/^(mqtts?|wss?):\/\/[^/]/.test(url)) p.list.push(`--url ${JSON.stringify(url)}: expected mqtt://, mqtts://, ws:// or wss:// and a host`);
  const count = p.number('count', str('count'), 1, 100_000, true);
  let rate = p.number('rate', str('rate'), 0.001, 1000);
  if (values.interval !== undefined) {
    if (values.rate !== undefined) p.list.push('--rate and --interval are alternatives; give one');
    rate = 1000 / p.number('interval', str('interval'), 1, 3_600_000);
  }
  const qos = p.number('qos', str('qos'), 0, 2, true) as 0 | 1 | 2;
  const profile = str('profile');
  if (!PROFILE_NAMES.includes(profile)) p.list.push(`--profile ${JSON.stringify(profile)}: expected one of ${PROFILE_NAMES.join(', ')}`);
  const idPrefix = str('id-prefix');
  // The longest id must still be a valid device id (DESIGN.md §2).
  if (!isValidDeviceId(`${idPrefix}-${'0'.repeat(Math.max(4, String(count).length))}`)) {
    p.list.push(`--id-prefix ${JSON.stringify(idPrefix)}: letters, digits, _ and - only, short enough for ids of at most 64 characters`);
  }
  const messages = p.number('messages', str('messages'), 0, Number.MAX_SAFE_INTEGER, true);
  const duplicateIds = p.number('duplicate-ids', str('duplicate-ids'), 0, 100_000, true);
  if (duplicateIds > count) p.list.push(`--duplicate-ids ${duplicateIds}: at most --count (${count})`);

  const options: CliOptions = {
    url, count, rate, qos, profile, idPrefix, duplicateIds,
    jitter: p.number('jitter', str('jitter'), 0, 1),
    seed: p.number('seed', str('seed'), 0, 2 ** 32 - 1, true),
    durationS: p.number('duration', str('duration'), 0, 31_536_000),
    messages: messages === 0 ? undefined : messages,
    credentialsPath: typeof values.credentials === 'string' ? values.credentials : undefined,
    ramp: p.number('ramp', str('ramp'), 0, 1_000_000),
    bufferSize: p.number('buffer', str('buffer'), 1, 10_000_000, true),
    malformedRate: p.number('malformed-rate', str('malformed-rate'), 0, 1),
    disconnectEveryS: p.number('disconnect-every', str('disconnect-every'), 0, 31_536_000),
    stormEveryS: p.number('storm', str('storm'), 0, 31_536_000),
    slowSubscriber: values['slow-subscriber'] === true,
    logEveryS: p.number('log-every', str('log-every'), 0.1, 86_400),
    json: values.json === true,
  };
  return p.list.length > 0 ? { kind: 'error', problems: p.list } : { kind: 'run', options };
}

/** Parses a credentials file: `{ "devices": [ { "id", "secret" } ] }` -> id -> secret. */
export function parseCredentials(text: string): { ok: true; secrets: Map<string, string> } | { ok: false; problem: string } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    return { ok: false, problem: `not JSON: ${(err as Error).message}` };
  }
  const devices = (body as { devices?: unknown } | null)?.devices;
  if (!Array.isArray(devices)) return { ok: false, problem: 'expected { "devices": [ { "id": "…", "secret": "…" } ] }' };
  const secrets = new Map<string, string>();
  for (const [i, entry] of devices.entries()) {
    const { id, secret } = (entry ?? {}) as { id?: unknown; secret?: unknown };
    if (typeof id !== 'string' || !isValidDeviceId(id) || typeof secret !== 'string' || secret === '') {
      return { ok: false, problem: `devices[${i}] needs a valid "id" and a non-empty "secret"` };
    }
    secrets.set(id, secret);
  }
  return { ok: true, secrets };
}
