// Throughput of one gateway against two behind the balancer (issue #8): the
// same load generator, the same command, on InfluxDB, in three shapes:
//   single    one gateway, no Redis (sessions on disk), devices connect to it
//   1 + LB    one gateway in cluster mode (REDIS_URL) behind HAProxy
//   2 + LB    two gateways in cluster mode behind HAProxy
// HAProxy runs deploy/haproxy.cfg, the compose file's, with its servers
// pointed at the local gateways. Devices publish QoS 1 as fast as their
// in-flight window allows; a reading counts once acknowledged, and the run
// checks that every acknowledged reading was stored.
//   npm run build && npx tsx bench/cluster-throughput.ts [--devices 100] [--seconds 10] [--inflight 10]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { telemetryTopic } from '../broker/contract/topics.js';
import { startInfluxd } from '../test/helpers/influxd.js';
import { startRedis } from '../test/helpers/redis.js';
import { freePorts } from '../lab/gateway-process.js';
import { startGatewayProcess, type GatewayProcess } from './gateway-process.js';
import { metricValue } from './proc.js';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '10' },
    inflight: { type: 'string', default: '10' },
  },
});
const devices = Number(values.devices);
const seconds = Number(values.seconds);
const inflight = Number(values.inflight);

/** deploy/haproxy.cfg with its servers on local ports (no Docker DNS), as many as there are gateways. */
function haproxyConfig(gateways: GatewayProcess[], mqttPort: number, httpPort: number): string {
  const text = fs.readFileSync('deploy/haproxy.cfg', 'utf8')
    // Its maxconn needs twice as many file descriptors; a container gets them, a shell here may not.
    .replace(/maxconn \d+/, 'maxconn 8000')
    .replace(/ resolvers docker/g, '')
    .replace(/\nresolvers docker\n(?: {4}.*\n)+/, '\n')
    .replace('bind :1883', `bind 127.0.0.1:${mqttPort}`)
    .replace('bind :8080', `bind 127.0.0.1:${httpPort}`)
    .replace(/^ {4}server gateway-\d+ .*\n/gm, '');
  const servers = (port: (g: GatewayProcess) => string) => gateways.map((g, i) => `    server gateway-${i + 1} 127.0.0.1:${port(g)}\n`).join('');
  return text
    .replace(/^(backend gateways_mqtt\n(?: {4}.*\n)*)/m, (block) => block + servers((g) => new URL(g.mqttUrl).port))
    .replace(/^(backend gateways_http\n(?: {4}.*\n)*)/m, (block) => block + servers((g) => new URL(g.httpUrl).port));
}

async function startHaproxy(gateways: GatewayProcess[]): Promise<{ mqttUrl: string; stop(): Promise<void> }> {
  const [mqttPort, httpPort] = await freePorts(2) as [number, number];
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'haproxy-')), 'haproxy.cfg');
  fs.writeFileSync(file, haproxyConfig(gateways, mqttPort, httpPort));
  const child = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  // Ready once the HTTP frontend answers through to a gateway.
  for (let i = 0; !(await fetch(`http://127.0.0.1:${httpPort}/healthz`).then((r) => r.ok, () => false)); i++) {
    if (i > 100) throw new Error('haproxy did not come up');
    await sleep(100);
  }
  return {
    mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    },
  };
}

async function storedTotal(gateways: GatewayProcess[]): Promise<number> {
  let sum = 0;
  for (const g of gateways) sum += await metricValue(g.httpUrl, 'gateway_readings_stored_total');
  return sum;
}

/** Busy share of all cores since `before` (from os.cpus()), to show when the machine, not a gateway, is the limit. */
function machineBusy(before: os.CpuInfo[]): number {
  let busy = 0;
  let total = 0;
  os.cpus().forEach((cpu, i) => {
    const was = before[i]!.times;
    const idle = cpu.times.idle - was.idle;
    const all = Object.values(cpu.times).reduce((a, b) => a + b, 0) - Object.values(was).reduce((a, b) => a + b, 0);
    busy += all - idle;
    total += all;
  });
  return Math.round((busy / total) * 100);
}

/** The load: `devices` clients, each with `inflight` QoS 1 publishes outstanding, for `seconds`. */
async function load(url: string, prefix: string): Promise<{ acked: number; seconds: number }> {
  const clients = await Promise.all(Array.from({ length: devices }, (_, i) =>
    mqtt.connectAsync(url, { clientId: `${prefix}-${i}`, reconnectPeriod: 0 })));
  let acked = 0;
  const started = Date.now();
  const stopAt = started + seconds * 1000;
  await Promise.all(clients.map(async (client, i) => {
    const topic = telemetryTopic(`${prefix}-${i}`);
    let seq = 0;
    const lane = async () => {
      while (Date.now() < stopAt) {
        seq += 1;
        await client.publishAsync(topic, JSON.stringify({ ts: Date.now(), seq, metrics: { temperature: 20 + (seq % 100) / 10, humidity: 40 } }), { qos: 1 });
        acked += 1;
      }
    };
    await Promise.all(Array.from({ length: inflight }, lane));
  }));
  const elapsed = (Date.now() - started) / 1000;
  await Promise.all(clients.map((c) => c.endAsync()));
  return { acked, seconds: elapsed };
}

const influxd = await startInfluxd();
const redis = await startRedis();
const rows: string[] = [];
try {
  const shapes = [
    { name: 'single (no Redis), direct', nodes: 1, cluster: false },
    { name: '1 gateway (Redis) + HAProxy', nodes: 1, cluster: true },
    { name: '2 gateways (Redis) + HAProxy', nodes: 2, cluster: true },
  ];
  for (const [index, shape] of shapes.entries()) {
    const database = `bench_cluster_${index}`;
    const env = (i: number) => ({
      STORE: 'influxdb', INFLUX_URL: influxd.url, INFLUX_DATABASE: database, AUTH: 'off', NODE_ID: `bench-${i}`,
      PUBLISH_RATE: '1000000', PUBLISH_BURST: '1000000', CONNECT_RATE_TOTAL: '1000000', CONNECT_RATE_PER_CLIENT: '1000', FLAP_MAX_CONNECTS: '1000000',
      ...(shape.cluster ? { REDIS_URL: redis.url } : {}),
    });
    const gateways: GatewayProcess[] = [];
    let balancer: Awaited<ReturnType<typeof startHaproxy>> | null = null;
    try {
      for (let i = 0; i < shape.nodes; i++) gateways.push(await startGatewayProcess(env(i)));
      balancer = shape.cluster ? await startHaproxy(gateways) : null;
      const cpuBefore = gateways.map((g) => g.cpuMs());
      const [machineBefore, loadBefore] = [os.cpus(), process.cpuUsage()];
      const result = await load(balancer?.mqttUrl ?? gateways[0]!.mqttUrl, `bench${index}`);
      const cpu = gateways.map((g, i) => Math.round(((g.cpuMs() - cpuBefore[i]!) / (result.seconds * 1000)) * 100));
      const loadUsage = process.cpuUsage(loadBefore);
      const loadCpu = Math.round(((loadUsage.user + loadUsage.system) / 1000 / (result.seconds * 1000)) * 100);
      const busy = machineBusy(machineBefore);
      const deadline = Date.now() + 30_000;
      let stored = 0;
      while ((stored = await storedTotal(gateways)) < result.acked && Date.now() < deadline) await sleep(100);
      const cpuPerReading = Math.round((cpu.reduce((a, b) => a + b, 0) / 100) * result.seconds * 1e6 / result.acked);
      rows.push(`| ${shape.name} | ${Math.round(result.acked / result.seconds)} | ${result.acked} | ${stored} | ${cpu.join(' + ')} | ${cpuPerReading} | ${loadCpu} | ${busy} |`);
      console.error(rows.at(-1));
    } finally {
      await balancer?.stop();
      await Promise.all(gateways.map((g) => g.stop()));
    }
  }
} finally {
  await redis.dispose();
  await influxd.dispose();
}
console.log(`${devices} devices x ${inflight} in flight, QoS 1, ${seconds} s, ${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(1)} at the end`);
console.log('| shape | acknowledged/s | acknowledged | stored | gateway CPU, % of a core | gateway CPU per reading, µs | load generator CPU, % | machine busy, % of all cores |\n|---|---|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
