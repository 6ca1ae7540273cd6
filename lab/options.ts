// Flags of `npm run compare`: parsed with node:util parseArgs, every problem
// reported at once (as loadConfig does for the environment).
import { parseArgs } from 'node:util';

export interface CompareOptions {
  /** Length of each measured phase (the baseline and every method), seconds. */
  durationS: number;
  devices: number;
  /** Readings per second per device. */
  rate: number;
  /** Clients per method; client i watches device i mod devices. */
  clients: number;
  /** Short polling's interval, seconds. */
  pollS: number;
  /** A running gateway (http://host:port); without it one is started. */
  url: string | null;
  /** Where the publishers connect; default: the started gateway's MQTT port, or ws://<url host>/mqtt. */
  mqttUrl: string | null;
  jsonPath: string;
}

export const COMPARE_DEFAULTS: Readonly<CompareOptions> = Object.freeze({
  durationS: 20,
  devices: 10,
  rate: 2,
  clients: 5,
  pollS: 1,
  url: null,
  mqttUrl: null,
  jsonPath: 'compare.json',
});

export type ParsedArgs =
  | { kind: 'help' }
  | { kind: 'error'; problems: string[] }
  | { kind: 'ok'; options: CompareOptions };

export function helpText(): string {
  const d = COMPARE_DEFAULTS;
  return `Usage: npm run compare -- [flags]

Drives one device stream to headless clients of all four realtime methods
(short polling, long polling, Server-Sent Events, MQTT over WebSocket), one
method at a time between two ingest-only baselines, and prints a Markdown table.

  --duration <s>    seconds each phase is measured (${d.durationS}); the run takes about 6x this plus start-up
  --devices <n>     simulated devices publishing over MQTT (${d.devices})
  --rate <r>        readings per second per device (${d.rate})
  --clients <n>     clients per method; client i watches device i mod n (${d.clients})
  --poll <s>        short-polling interval in seconds (${d.pollS})
  --url <url>       measure a running gateway (http://host:port) instead of starting one
  --mqtt-url <url>  where the devices publish (default: the started gateway, or ws://<--url host>/mqtt)
  --json <path>     where to write the results as JSON (${d.jsonPath})
  --help            this text

Without --url a gateway is started from broker/main.ts on free ports with a
temporary DATA_DIR, DEMO=off and AUTH=off, and stopped at the end. A gateway
given with --url must admit the lab's devices without credentials (AUTH=off),
and its HTTP_RATE must allow every client's requests from one address.
Exit codes: 0 all methods delivered every reading once, 1 they did not (or a
run failed), 2 bad flags.`;
}

function number(problems: string[], name: string, text: string | undefined, fallback: number, min: number, max: number, integer: boolean): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    problems.push(`--${name} ${JSON.stringify(text)}: expected ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`);
    return fallback;
  }
  return value;
}

function httpUrl(problems: string[], name: string, text: string | undefined, schemes: string[]): string | null {
  if (text === undefined) return null;
  try {
    const url = new URL(text);
    if (schemes.includes(url.protocol)) return text.replace(/\/+$/, '');
  } catch {
    // reported below
  }
  problems.push(`--${name} ${JSON.stringify(text)}: expected a ${schemes.map((s) => s.slice(0, -1)).join(' or ')} URL`);
  return null;
}

export function parseCompareArgs(argv: string[]): ParsedArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        duration: { type: 'string' },
        devices: { type: 'string' },
        rate: { type: 'string' },
        clients: { type: 'string' },
        poll: { type: 'string' },
        url: { type: 'string' },
        'mqtt-url': { type: 'string' },
        json: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    return { kind: 'error', problems: [(err as Error).message] };
  }
  if (values.help) return { kind: 'help' };
  const d = COMPARE_DEFAULTS;
  const problems: string[] = [];
  const options: CompareOptions = {
    durationS: number(problems, 'duration', values.duration, d.durationS, 0.5, 3600, false),
    devices: number(problems, 'devices', values.devices, d.devices, 1, 1000, true),
    rate: number(problems, 'rate', values.rate, d.rate, 0.1, 100, false),
    clients: number(problems, 'clients', values.clients, d.clients, 1, 500, true),
    pollS: number(problems, 'poll', values.poll, d.pollS, 0.1, 60, false),
    url: httpUrl(problems, 'url', values.url, ['http:', 'https:']),
    mqttUrl: httpUrl(problems, 'mqtt-url', values['mqtt-url'], ['mqtt:', 'mqtts:', 'ws:', 'wss:']),
    jsonPath: values.json ?? d.jsonPath,
  };
  if (values.json === '') problems.push('--json needs a path');
  return problems.length > 0 ? { kind: 'error', problems } : { kind: 'ok', options };
}
