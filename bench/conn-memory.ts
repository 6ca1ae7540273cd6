// Memory per idle MQTT connection (issue #9, item 3): the built gateway runs as
// its own process with its defaults (policy, ingest, persistence; AUTH as
// asked), child processes open N idle MQTT.js connections (each process has
// the same fd limit, so more than one is needed near it), and the gateway's
// RSS and V8 heap are compared before and after. Both samples follow a full
// GC forced through the gateway's inspector, so garbage does not count as cost.
// Usage: npm run build && npx tsx bench/conn-memory.ts [--count 10000] [--procs N] [--auth off|on] [--subscribe] [--settle 10] [--snapshots DIR]
// --snapshots also writes heap snapshots of both moments for a profile; taking one grows the RSS, so that run's RSS figure is void.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { freePort } from '../lab/gateway-process.js';
import { startGatewayProcess, type GatewayProcess } from './gateway-process.js';
import { Inspector } from './inspector.js';
import { metricValue, procSample } from './proc.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '10000' },
    procs: { type: 'string' },
    auth: { type: 'string', default: 'off' },
    settle: { type: 'string', default: '10' },
    snapshots: { type: 'string' },
    subscribe: { type: 'boolean', default: false },
    worker: { type: 'boolean', default: false },
  },
});
const shadowTopic = (id: string) => `devices/${id}/shadow/update/delta`;
/** Connections a client process holds at most, below its fd limit of 20,000 with room for its own files. */
const PER_PROCESS = 8_000;
const CONNECTS_IN_FLIGHT = 100;

interface WorkerJob {
  url: string;
  /** Each client also subscribes to its shadow's delta topic, as the simulated devices do. */
  subscribe: boolean;
  ids: string[];
  secrets: Record<string, string> | null;
}

/** Child process: holds the idle connections it is given until told to end. */
async function worker(): Promise<void> {
  const job = await new Promise<WorkerJob>((resolve) => process.once('message', (m) => resolve(m as WorkerJob)));
  const clients: MqttClient[] = [];
  let next = 0;
  const lane = async () => {
    while (next < job.ids.length) {
      const id = job.ids[next++]!;
      const secret = job.secrets?.[id];
      const client = await mqtt.connectAsync(job.url, { clientId: id, keepalive: 60, reconnectPeriod: 0, connectTimeout: 60_000, ...(secret ? { username: id, password: secret } : {}) });
      if (job.subscribe) await client.subscribeAsync(shadowTopic(id), { qos: 1 });
      clients.push(client);
    }
  };
  await Promise.all(Array.from({ length: CONNECTS_IN_FLIGHT }, lane));
  process.send!({ connected: clients.length });
  await new Promise((resolve) => process.once('message', resolve));
  await Promise.all(clients.map((c) => c.endAsync(true)));
  process.exit(0);
}

/** Registers `ids` through the admin API; returns their secrets. */
async function provision(httpUrl: string, adminToken: string, ids: string[]): Promise<Record<string, string>> {
  const secrets: Record<string, string> = {};
  const headers = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
  for (let i = 0; i < ids.length; i += 50) {
    await Promise.all(ids.slice(i, i + 50).map(async (id) => {
      const response = await fetch(`${httpUrl}/api/admin/devices`, { method: 'POST', headers, body: JSON.stringify({ id }) });
      const body = (await response.json()) as { secret?: string };
      if (!response.ok || !body.secret) throw new Error(`provisioning ${id}: HTTP ${response.status}`);
      secrets[id] = body.secret;
    }));
  }
  return secrets;
}

interface Sample {
  rss: number;
  heapUsed: number;
  external: number;
}

async function sample(gw: GatewayProcess, inspector: Inspector, snapshot: string | null): Promise<Sample> {
  const heap = await inspector.memory();
  const rss = gw.rssBytes();
  if (snapshot) await inspector.snapshot(snapshot);
  return { rss, heapUsed: heap.heapUsed, external: heap.external };
}

/** Opens the connections from `procs` child processes; resolves once all are up. */
async function openConnections(children: ChildProcess[], job: Omit<WorkerJob, 'ids' | 'secrets'>, ids: string[], secrets: Record<string, string> | null, procs: number): Promise<number> {
  const script = new URL(import.meta.url).pathname;
  const counts = Array.from({ length: procs }, (_, p) => {
    const child = fork(script, ['--worker'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.push(child);
    const mine = ids.filter((_, i) => i % procs === p);
    child.send({ ...job, ids: mine, secrets: secrets && Object.fromEntries(mine.map((id) => [id, secrets[id]!])) } satisfies WorkerJob);
    return new Promise<number>((resolve, reject) => {
      child.once('message', (m) => resolve((m as { connected: number }).connected));
      child.once('exit', (code) => reject(new Error(`client process exited with ${code}`)));
    });
  });
  return (await Promise.all(counts)).reduce((a, b) => a + b, 0);
}

async function main(): Promise<void> {
  const count = Number(values.count);
  const procs = Number(values.procs ?? Math.max(1, Math.ceil(count / PER_PROCESS)));
  const auth = values.auth === 'on';
  const inspectPort = await freePort();
  const adminToken = 'bench-admin-token-0123456789abcdef';
  const gw = await startGatewayProcess({
    AUTH: auth ? 'on' : 'off',
    ADMIN_TOKEN: adminToken,
    // Rate guards protect a gateway from storms; here they would only slow provisioning and the ramp.
    CONNECT_RATE_TOTAL: '1000000',
    HTTP_RATE: '1000000',
    NODE_OPTIONS: `--inspect=127.0.0.1:${inspectPort}`,
  });
  const children: ChildProcess[] = [];
  const rows: [string, string | number][] = [];
  try {
    const inspector = await Inspector.open(inspectPort);
    const ids = Array.from({ length: count }, (_, i) => `idle-${i}`);
    const secrets = auth ? await provision(gw.httpUrl, adminToken, ['idle-warmup', ...ids]) : null;
    // One connection first, so that what the first connection initialises once
    // (mqtt-packet's 64 Ki number cache, compiled code) is not counted per connection.
    const warmup = await mqtt.connectAsync(gw.mqttUrl, { clientId: 'idle-warmup', reconnectPeriod: 0, ...(secrets ? { username: 'idle-warmup', password: secrets['idle-warmup'] } : {}) });
    if (values.subscribe) await warmup.subscribeAsync(shadowTopic('idle-warmup'), { qos: 1 });
    await warmup.endAsync();
    await sleep(2_000);
    const snapshots = values.snapshots;
    const before = await sample(gw, inspector, snapshots ? path.join(snapshots, 'before.heapsnapshot') : null);

    const started = Date.now();
    const connected = await openConnections(children, { url: gw.mqttUrl, subscribe: values.subscribe }, ids, secrets, procs);
    const rampSeconds = (Date.now() - started) / 1000;
    const counted = await metricValue(gw.httpUrl, 'gateway_mqtt_connections');
    await sleep(Number(values.settle) * 1000);
    const after = await sample(gw, inspector, snapshots ? path.join(snapshots, 'after.heapsnapshot') : null);
    const clientRss = children.reduce((sum, child) => sum + procSample(child.pid!).rssBytes, 0);
    inspector.close();

    const kib = (bytes: number) => (bytes / connected / 1024).toFixed(2);
    const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
    rows.push(
      ['idle TCP connections (AUTH, subscribed)', `${connected} (${auth ? 'on' : 'off'}, ${values.subscribe ? 'one QoS 1 subscription each' : 'none'}), gateway counted ${counted}`],
      ['client processes / ramp', `${procs} / ${rampSeconds.toFixed(1)} s`],
      ['gateway RSS before -> after, MiB', `${mib(before.rss)} -> ${mib(after.rss)}`],
      ['RSS per connection, KiB', kib(after.rss - before.rss)],
      ['V8 heap used per connection, KiB', kib(after.heapUsed - before.heapUsed)],
      ['external (off-heap buffers) per connection, KiB', kib(after.external - before.external)],
      ['connections per GiB of RSS', Math.floor(2 ** 30 / ((after.rss - before.rss) / connected))],
      ['client processes RSS, MiB', mib(clientRss)],
    );
  } finally {
    for (const child of children) if (child.connected) child.send('end');
    await Promise.all(children.map((child) => child.exitCode ?? new Promise((resolve) => child.once('exit', resolve))));
    rows.push(['gateway exit code', (await gw.stop()) ?? 'signal']);
  }
  console.log('| figure | value |\n|---|---|');
  for (const [name, value] of rows) console.log(`| ${name} | ${value} |`);
}

if (values.worker) await worker();
else await main();
