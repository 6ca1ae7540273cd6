// What MQTT over WebSocket costs next to TCP: fan-in (publishers -> one
// subscriber of devices/+/telemetry, QoS 0) against the built gateway (AUTH=off)
// in its own process. Publishers and subscriber are MQTT.js clients in two
// child processes, so neither shares an event loop with the gateway or with
// the other. Each trial runs a fixed rate (latency, gateway CPU per 1,000
// messages), then a flood (messages/s routed). Every candidate (a build over a
// transport) keeps its gateway and clients up for the whole run and the
// candidates take turns, round after round, because the machine is shared and
// one run says little; medians are printed.
//
// Usage: npm run build && npx tsx bench/ws-adapter.ts [--builds name=dir,...]
//   [--transports ws,tcp] [--rounds 5] [--seconds 5] [--rate 10000] [--publishers 100]
//   [--client-frames packet|write]
// A build is a directory holding a built gateway (dist/broker/main.js); the
// default is this checkout. To compare with an earlier commit:
//   mkdir /tmp/before && git archive <commit> | tar -x -C /tmp/before && ln -s "$PWD/node_modules" /tmp/before/ \
//     && (cd /tmp/before && npx tsc -p tsconfig.build.json) && cp -r dist/dashboard /tmp/before/dist/
//   npx tsx bench/ws-adapter.ts --builds before=/tmp/before,after=.
// To profile, start a gateway yourself (AUTH=off, under node --cpu-prof) and
// drive it with --gateway http://host:port [--gateway-mqtt mqtt://host:port] --pid <its pid>.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { DuplexOptions } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import mqtt, { MqttClient } from 'mqtt';
import { WebSocket, createWebSocketStream } from 'ws';
import { startGatewayProcess, type GatewayProcess } from './gateway-process.js';
import { procSample } from './proc.js';
import { median, summarizeLatency } from './suite/stats.js';

const { values } = parseArgs({
  options: {
    role: { type: 'string', default: 'main' },
    url: { type: 'string', default: '' },
    gateway: { type: 'string', default: '' },
    'gateway-mqtt': { type: 'string', default: 'mqtt://127.0.0.1:1883' },
    pid: { type: 'string', default: '' },
    builds: { type: 'string', default: 'current=.' },
    transports: { type: 'string', default: 'ws,tcp' },
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '5' },
    rate: { type: 'string', default: '10000' },
    publishers: { type: 'string', default: '100' },
    'client-frames': { type: 'string', default: 'packet' },
  },
});

// Limits that protect against one client are lifted: this measures the transport under load.
const GATEWAY_ENV = {
  AUTH: 'off',
  PUBLISH_RATE: '1000000',
  PUBLISH_BURST: '1000000',
  CONNECT_RATE_PER_CLIENT: '1000',
  CONNECT_RATE_TOTAL: '1000000',
  FLAP_MAX_CONNECTS: '1000000',
};
const WARMUP_MS = 1_000;
/** QoS 1 publishes each flooding publisher keeps in flight. */
const FLOOD_WINDOW = 20;
const wallMs = () => performance.timeOrigin + performance.now();
const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

type Command = { type: 'rate'; rate: number; ms: number } | { type: 'flood'; ms: number } | { type: 'mark' } | { type: 'report' };
interface SubscriberReport {
  type: 'report';
  count: number;
  p50: number;
  p99: number;
  /** Chunks the subscriber's stream delivered: one per WebSocket frame, or per TCP read. */
  chunks: number;
  cpuMs: number;
}

/**
 * MQTT.js in Node sends each of a packet's writes (five for a PUBLISH) as its
 * own WebSocket frame, one after the other; its browser build, the gateway's
 * usual WebSocket client, sends one frame per packet. `packet` (the default)
 * makes these clients frame like a browser. With `write` the gateway parses
 * five frames per message instead of one, and the load generator, not the
 * gateway, runs out of CPU first on a small machine.
 */
const PACKET_FRAMES: DuplexOptions = {
  writev(chunks, callback) {
    this._write(Buffer.concat(chunks.map(({ chunk }) => chunk as Buffer)), 'binary', callback);
  },
};

function connect(clientId: string): Promise<MqttClient> {
  const wsOptions = values['client-frames'] === 'packet' ? PACKET_FRAMES : undefined;
  return mqtt.connectAsync(values.url, { clientId, reconnectPeriod: 0, connectTimeout: 30_000, wsOptions });
}

async function publishers(): Promise<void> {
  const clients = await Promise.all(Array.from({ length: Number(values.publishers) }, (_, i) => connect(`ws-bench-${i}`)));
  const topics = clients.map((_, i) => `devices/ws-bench-${i}/telemetry`);
  let seq = 0;
  // A telemetry reading whose metric is the send time, for the subscriber's latency.
  const body = () => JSON.stringify({ seq: ++seq, metrics: { t: wallMs() } });
  process.on('message', async (command: Command) => {
    const started = cpuMs();
    const start = wallMs();
    let sent = 0;
    if (command.type === 'rate') {
      // One timer spreads the messages due so far round-robin over the publishers.
      while (wallMs() - start < command.ms) {
        const due = Math.floor(((wallMs() - start) * command.rate) / 1000);
        for (; sent < due; sent++) clients[sent % clients.length]!.publish(topics[sent % clients.length]!, body(), { qos: 0 });
        await sleep(5);
      }
    } else if (command.type === 'flood') {
      // QoS 1 with a window per publisher: as fast as the gateway acknowledges, nothing shed at the edge.
      await Promise.all(clients.flatMap((client, i) => Array.from({ length: FLOOD_WINDOW }, async () => {
        while (wallMs() - start < command.ms) {
          sent += 1;
          await client.publishAsync(topics[i]!, body(), { qos: 1 });
        }
      })));
    }
    process.send!({ type: 'done', sent, cpuMs: cpuMs() - started });
  });
  process.send!({ type: 'ready' });
}

/**
 * The subscriber opens its own socket so it can count what arrives: WebSocket
 * frames, or TCP reads. One frame per message is what coalescing avoids.
 */
function subscriberClient(onChunk: () => void): MqttClient {
  const url = new URL(values.url);
  const options = { clientId: 'ws-bench-sub', reconnectPeriod: 0, protocolVersion: 4 as const };
  if (url.protocol === 'mqtt:') {
    return new MqttClient(() => net.connect(Number(url.port), url.hostname).on('data', onChunk), options);
  }
  const ws = new WebSocket(values.url, 'mqtt').on('message', onChunk);
  return new MqttClient(() => createWebSocketStream(ws), options);
}

async function subscriber(): Promise<void> {
  let chunks = 0;
  const client = subscriberClient(() => (chunks += 1));
  await new Promise((resolve) => client.once('connect', resolve));
  await client.subscribeAsync('devices/+/telemetry', { qos: 0 });
  let latencies: number[] = [];
  let started = cpuMs();
  client.on('message', (_topic, payload) => {
    const sentAt = (JSON.parse(payload.toString()) as { metrics: { t: number } }).metrics.t;
    latencies.push(wallMs() - sentAt);
  });
  process.on('message', (command: Command) => {
    if (command.type === 'mark') {
      latencies = [];
      chunks = 0;
      started = cpuMs();
      return;
    }
    const summary = summarizeLatency(latencies);
    const report: SubscriberReport = { type: 'report', count: latencies.length, p50: summary?.p50 ?? NaN, p99: summary?.p99 ?? NaN, chunks, cpuMs: cpuMs() - started };
    process.send!(report);
  });
  process.send!({ type: 'ready' });
}

function child(role: string, url: string): ChildProcess {
  return fork(import.meta.filename, ['--role', role, '--url', url, '--publishers', values.publishers!, '--client-frames', values['client-frames']!], { stdio: 'inherit' });
}

function reply<T>(proc: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve) => {
    const onMessage = (message: { type: string }) => {
      if (message.type !== type) return;
      proc.off('message', onMessage);
      resolve(message as T);
    };
    proc.on('message', onMessage);
  });
}

interface Trial {
  ratePerS: number;
  p50: number;
  p99: number;
  cpuPer1k: number;
  chunksPer1k: number;
  loadCpuPct: number;
  floodPerS: number;
  floodCpuPer1k: number;
  floodLoadCpuPct: number;
}

type Target = Pick<GatewayProcess, 'httpUrl' | 'mqttUrl' | 'cpuMs' | 'stop'>;

async function startTarget(dir: string): Promise<Target> {
  if (values.gateway) {
    const pid = Number(values.pid);
    return {
      httpUrl: new URL(values.gateway).origin,
      mqttUrl: values['gateway-mqtt']!,
      cpuMs: () => (pid ? procSample(pid).cpuMs : NaN),
      stop: async () => null,
    };
  }
  const home = process.cwd();
  process.chdir(dir);
  try {
    return await startGatewayProcess(GATEWAY_ENV);
  } finally {
    process.chdir(home);
  }
}

/** One build over one transport: its gateway and its two client processes, up for the whole run. */
interface Candidate {
  name: string;
  gw: Target;
  pub: ChildProcess;
  sub: ChildProcess;
  trials: Trial[];
}

async function startCandidate(name: string, dir: string, transport: string): Promise<Candidate> {
  const gw = await startTarget(dir);
  const url = transport === 'ws' ? `${gw.httpUrl.replace('http', 'ws')}/mqtt` : gw.mqttUrl;
  const sub = child('subscriber', url);
  await reply(sub, 'ready');
  const pub = child('publishers', url);
  await reply(pub, 'ready');
  return { name: `${name} / ${transport}`, gw, pub, sub, trials: [] };
}

async function stopCandidate({ gw, pub, sub }: Candidate): Promise<void> {
  pub.kill();
  sub.kill();
  await Promise.all([once(pub, 'exit'), once(sub, 'exit')]);
  await gw.stop();
}

/** Runs one phase: publishers for warm-up + window, the subscriber and the gateway's CPU measured over the window only. */
async function phase({ gw, pub, sub }: Candidate, command: Command & { ms: number }) {
  const windowMs = command.ms - WARMUP_MS;
  const done = reply<{ sent: number; cpuMs: number }>(pub, 'done');
  pub.send(command);
  await sleep(WARMUP_MS);
  sub.send({ type: 'mark' });
  const cpu0 = gw.cpuMs();
  await sleep(windowMs);
  const gatewayCpuMs = gw.cpuMs() - cpu0;
  const report = reply<SubscriberReport>(sub, 'report');
  sub.send({ type: 'report' });
  const [received, sent] = await Promise.all([report, done]);
  return {
    perS: Math.round((received.count * 1000) / windowMs),
    received,
    cpuPer1k: (gatewayCpuMs * 1000) / received.count,
    // Publishers ran for the whole phase, the subscriber was measured over the window: the sum of both processes' use.
    loadCpuPct: 100 * (sent.cpuMs / command.ms + received.cpuMs / windowMs),
  };
}

async function trial(candidate: Candidate): Promise<Trial> {
  const ms = WARMUP_MS + Number(values.seconds) * 1000;
  const rate = await phase(candidate, { type: 'rate', rate: Number(values.rate), ms });
  // Lets what the rate phase left queued drain before the flood.
  await sleep(500);
  const flood = await phase(candidate, { type: 'flood', ms });
  return {
    ratePerS: rate.perS,
    p50: rate.received.p50,
    p99: rate.received.p99,
    cpuPer1k: rate.cpuPer1k,
    chunksPer1k: (rate.received.chunks * 1000) / rate.received.count,
    loadCpuPct: rate.loadCpuPct,
    floodPerS: flood.perS,
    floodCpuPer1k: flood.cpuPer1k,
    floodLoadCpuPct: flood.loadCpuPct,
  };
}

async function main(): Promise<void> {
  const candidates: Candidate[] = [];
  try {
    for (const entry of values.builds!.split(',')) {
      const [name, dir = '.'] = entry.split('=');
      for (const transport of values.transports!.split(',')) candidates.push(await startCandidate(name!, dir, transport));
    }
    console.log(
      `fan-in, ${values.publishers} publishers -> 1 subscriber (QoS 0): a fixed ${values.rate}/s at QoS 0, then a flood at QoS 1 ` +
        `(window ${FLOOD_WINDOW} per publisher); ${values.seconds} s windows after ${WARMUP_MS} ms warm-up; ${values.rounds} rounds`,
    );
    for (let round = 1; round <= Number(values.rounds); round++) {
      // A B, then B A: no candidate always runs right after the same neighbour.
      const order = round % 2 ? candidates : [...candidates].reverse();
      for (const candidate of order) {
        const t = await trial(candidate);
        candidate.trials.push(t);
        console.log(
          `round ${round} ${candidate.name}: ${t.ratePerS}/s p50 ${t.p50.toFixed(1)} ms p99 ${t.p99.toFixed(1)} ms cpu ${t.cpuPer1k.toFixed(1)} ms/1k, ${t.chunksPer1k.toFixed(0)} chunks/1k ` +
            `(load ${t.loadCpuPct.toFixed(0)}%); flood ${t.floodPerS}/s cpu ${t.floodCpuPer1k.toFixed(1)} ms/1k (load ${t.floodLoadCpuPct.toFixed(0)}%)`,
        );
      }
    }
  } finally {
    await Promise.all(candidates.map(stopCandidate));
  }
  console.log('\nmedians:\n| build / transport | routed/s at the fixed rate | p50 ms | p99 ms | gateway CPU ms per 1k msgs | frames (ws) or reads (tcp) per 1k msgs at the subscriber | load CPU % | flood routed/s | flood gateway CPU ms per 1k | flood load CPU % |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const c of candidates) {
    const m = (pick: (t: Trial) => number) => median(c.trials.map(pick)) ?? NaN;
    console.log(
      `| ${c.name} | ${Math.round(m((t) => t.ratePerS))} | ${m((t) => t.p50).toFixed(1)} | ${m((t) => t.p99).toFixed(1)} | ${m((t) => t.cpuPer1k).toFixed(1)} | ${m((t) => t.chunksPer1k).toFixed(0)} | ` +
        `${m((t) => t.loadCpuPct).toFixed(0)} | ${Math.round(m((t) => t.floodPerS))} | ${m((t) => t.floodCpuPer1k).toFixed(1)} | ${m((t) => t.floodLoadCpuPct).toFixed(0)} |`,
    );
  }
}

if (values.role === 'publishers') await publishers();
else if (values.role === 'subscriber') await subscriber();
else await main();
