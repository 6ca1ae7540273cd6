// Issue #4's scale figure: can one simulator process drive N devices at
// R readings/s each against the gateway on this machine? Both run as their own
// processes; the achieved rate is the gateway's accepted-readings counter,
// sampled every second (on the gateway's clock) once every device is
// connected and a warm-up passed.
// Usage: npm run build && npx tsx bench/fleet-scale.ts [--count 10000] [--rate 1] [--seconds 60] [--ramp 500] [--qos 1]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { startGatewayProcess } from './gateway-process.js';
import { procSample } from './proc.js';
import { sum } from './suite/stats.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '10000' },
    rate: { type: 'string', default: '1' },
    seconds: { type: 'string', default: '60' },
    ramp: { type: 'string', default: '500' },
    warmup: { type: 'string', default: '10' },
    qos: { type: 'string', default: '1' },
  },
});
const count = Number(values.count);
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const ramp = Number(values.ramp);
const warmup = Number(values.warmup);
const qos = values.qos;
const target = count * rate;

// The default connect limit (1000/s) is above the ramp; publish limits are per
// device and far above 1 reading/s, so the gateway runs with its defaults.
const gw = await startGatewayProcess({ AUTH: 'off' });
const cli = path.resolve('dist/devices/cli.js');
if (!fs.existsSync(cli)) throw new Error('dist/devices/cli.js missing: run `npm run build` first');
const rampSeconds = ramp > 0 ? Math.ceil(count / ramp) : 1;
const sim = spawn(process.execPath, [cli, '--url', gw.mqttUrl, '--count', String(count), '--rate', String(rate), '--ramp', String(ramp), '--qos', qos,
  '--duration', String(rampSeconds + 60 + warmup + seconds + 30), '--json', '--log-every', '10'], { stdio: ['ignore', 'pipe', 'inherit'] });
let simOut = '';
sim.stdout.on('data', (chunk: Buffer) => (simOut += chunk.toString()));

// A failed run must not leave a gateway or 10,000 connections behind.
const cleanUp = async () => {
  if (sim.exitCode === null && sim.signalCode === null) {
    sim.kill('SIGINT');
    await new Promise((resolve) => sim.once('exit', resolve));
  }
  await gw.stop();
};
process.once('SIGINT', () => void cleanUp().then(() => process.exit(130)));
let measured;
try {
  measured = await measure();
} finally {
  await cleanUp();
}
const { samples, wallMs, gwStart, gwEnd, simStart, simEnd, peakGwRss, peakSimRss, connectedAtEnd } = measured;

async function measure() {
  const connectDeadline = Date.now() + (rampSeconds + 60) * 1000;
  // Progress every 5 s on stderr: a ramp that stalls shows which process is saturated.
  let progress = { at: performance.now(), gw: procSample(gw.pid).cpuMs, sim: procSample(sim.pid!).cpuMs };
  for (let tick = 1; ; tick++) {
    const { connections, memory } = await gw.stats();
    const connected = sum(Object.values(connections));
    if (connected >= count) break;
    // A flag the simulator refuses (exit code 2, its reason on stderr) must not wait for the deadline.
    if (sim.exitCode !== null) throw new Error(`the simulator exited with code ${sim.exitCode} during the ramp`);
    if (Date.now() > connectDeadline) throw new Error(`only ${connected} of ${count} devices connected`);
    if (tick % 10 === 0) {
      const now = { at: performance.now(), gw: procSample(gw.pid).cpuMs, sim: procSample(sim.pid!).cpuMs };
      const share = (a: number, b: number) => Math.round(((b - a) / (now.at - progress.at)) * 100);
      const pressure = memory.pressure ? ', memory pressure (MEMORY_LIMIT_MB)' : '';
      console.error(`ramp: ${connected} connected, gateway CPU ${share(progress.gw, now.gw)} %, simulator CPU ${share(progress.sim, now.sim)} %${pressure}`);
      progress = now;
    }
    await sleep(500);
  }
  await sleep(warmup * 1000);

  /** The accepted-readings counter and when the gateway read it, once a second. */
  const samples: Array<{ count: number; at: number }> = [];
  const gwStart = procSample(gw.pid);
  const simStart = procSample(sim.pid!);
  // Rates are taken on the gateway's clock, at the moment it read its counter:
  // by the time its answer arrives here a busy gateway may be 100 ms further on,
  // which could move 2 % of a 5 s window's readings into the next one.
  const started = performance.now();
  let peakGwRss = 0;
  let peakSimRss = 0;
  for (let s = 0; s <= seconds; s++) {
    if (s > 0) await sleep(1000 - ((performance.now() - started) % 1000));
    const { readings, at } = await gw.stats();
    samples.push({ count: readings.accepted, at });
    peakGwRss = Math.max(peakGwRss, procSample(gw.pid).rssBytes);
    peakSimRss = Math.max(peakSimRss, procSample(sim.pid!).rssBytes);
  }
  const wallMs = samples.at(-1)!.at - samples[0]!.at;
  const gwEnd = procSample(gw.pid);
  const simEnd = procSample(sim.pid!);
  const connectedAtEnd = sum(Object.values((await gw.stats()).connections));
  return { samples, wallMs, gwStart, gwEnd, simStart, simEnd, peakGwRss, peakSimRss, connectedAtEnd };
}

/** Readings per second between two samples. */
const rateBetween = (a: { count: number; at: number }, b: { count: number; at: number }) => ((b.count - a.count) * 1000) / (b.at - a.at);
const mean = rateBetween(samples[0]!, samples.at(-1)!);
const windows = [];
for (let i = 0; i + 5 < samples.length; i += 5) windows.push(rateBetween(samples[i]!, samples[i + 5]!));
const worst5s = Math.min(...windows);
const pct = (n: number) => `${((n / target) * 100).toFixed(2)} %`;
const cpu = (a: number, b: number) => `${Math.round(((b - a) / wallMs) * 100)} %`;
const rows: [string, string | number][] = [
  ['devices × rate', `${count} × ${rate}/s = ${target} readings/s target, QoS ${qos}`],
  ['measured window', `${(wallMs / 1000).toFixed(1)} s after ${rampSeconds} s ramp + ${warmup} s warm-up`],
  ['achieved mean', `${Math.round(mean)} readings/s (${pct(mean)})`],
  ['worst 5 s window', `${Math.round(worst5s)} readings/s (${pct(worst5s)})`],
  ['5 s windows, % of target', windows.map((w) => ((w / target) * 100).toFixed(1)).join(' ')],
  ['within 1 % for the window', mean >= target * 0.99 && worst5s >= target * 0.99 ? 'yes' : 'no'],
  ['connected at end', connectedAtEnd],
  ['gateway CPU (% of one core) / peak RSS', `${cpu(gwStart.cpuMs, gwEnd.cpuMs)} / ${Math.round(peakGwRss / 2 ** 20)} MiB`],
  ['simulator CPU (% of one core) / peak RSS', `${cpu(simStart.cpuMs, simEnd.cpuMs)} / ${Math.round(peakSimRss / 2 ** 20)} MiB`],
];
console.log('| figure | value |\n|---|---|');
for (const [name, value] of rows) console.log(`| ${name} | ${value} |`);
const summary = simOut.trim().split('\n').pop();
if (summary) console.log(`\nsimulator summary: ${summary}`);
