// The gateway as users run it (the build, its own process) with
// authentication, policy and ingest on. Only limits that would measure
// themselves instead of the gateway are raised; each says why.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULTS } from '../../broker/config.js';
import { freePorts, waitReady } from '../../lab/gateway-process.js';
import { Inspector } from '../inspector.js';
import { metricValue } from '../proc.js';
import type { Transport } from './loadgen/protocol.js';
import type { Reaper } from './processes.js';
import type { RegistryCache } from './registry-cache.js';
import type { Target } from './scenarios/scenario.js';

const HOST = '127.0.0.1';
const ENTRY = fileURLToPath(new URL('../../dist/broker/main.js', import.meta.url));
const READY_TIMEOUT_MS = 30_000;
/** Registrations in flight: enough to keep the admin API busy without queueing thousands of requests. */
const REGISTER_CONCURRENCY = 16;

export interface Setting {
  name: string;
  value: string;
  why: string;
}

export const RAISED: readonly Setting[] = [
  { name: 'PUBLISH_RATE', value: '1000000', why: 'default 100/s per connection: fan-in and ingest publishers go as fast as the broker takes them' },
  { name: 'PUBLISH_BURST', value: '1000000', why: 'the token bucket of PUBLISH_RATE' },
  { name: 'CONNECT_RATE_TOTAL', value: '1000000', why: 'default 1000/s for the whole gateway: idle and hold open 10,000-19,000 connections as fast as they can' },
  { name: 'MEMORY_LIMIT_MB', value: '8192', why: 'default 1024: 19,000 connections and the queues of a flood pass 90 % of it, where the guard stops admitting publishes' },
  { name: 'HTTP_RATE', value: '1000000', why: 'default 200/s per address: every device is registered through the admin API from this one address' },
];

export const KEPT: readonly Setting[] = [
  { name: 'CONNECT_RATE_PER_CLIENT, FLAP_*', value: 'defaults', why: 'each client id connects once per gateway start' },
  { name: 'MAX_INFLIGHT_MESSAGES', value: DEFAULTS.MAX_INFLIGHT_MESSAGES, why: 'bounds the work in flight, not the rate: the default QoS 1 windows (100 devices x 20) stay below it, and a QoS 0 flood beyond it is shed, which delivered % shows' },
  { name: 'SLOW_SUBSCRIBER_BYTES', value: DEFAULTS.SLOW_SUBSCRIBER_BYTES, why: 'drops toward a subscriber that cannot keep up instead of queueing without bound; delivered % shows it' },
  { name: 'MAX_CONNECTIONS', value: DEFAULTS.MAX_CONNECTIONS, why: 'above every count used here' },
];

/** The environment minus every gateway setting, so a variable exported in the shell cannot change what is measured. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(DEFAULTS)) delete env[name];
  return env;
}

/** fn over every item, `limit` at a time. */
async function inParallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

export interface GatewayDeps {
  reaper: Reaper;
  registry: RegistryCache;
  log: (line: string) => void;
}

export async function startGateway({ reaper, registry, log }: GatewayDeps, extraEnv: Record<string, string> = {}): Promise<Target> {
  if (!fs.existsSync(ENTRY)) throw new Error(`${ENTRY} missing: run \`npm run build\` first (npm run bench does)`);
  const dataDir = reaper.tempDir('bench-suite-gateway-');
  registry.restore(dataDir);
  const [mqttPort, httpPort, inspectPort] = await freePorts(3) as [number, number, number];
  const adminToken = randomBytes(16).toString('hex');
  const env: NodeJS.ProcessEnv = {
    ...cleanEnv(),
    HOST,
    MQTT_PORT: String(mqttPort),
    HTTP_PORT: String(httpPort),
    DATA_DIR: dataDir,
    DEMO: 'off',
    AUTH: 'on',
    ADMIN_TOKEN: adminToken,
    LOG_LEVEL: 'warn',
    ...Object.fromEntries(RAISED.map((s) => [s.name, s.value])),
    ...extraEnv,
  };
  // No inspector runs until the idle scenario asks for a full GC (collectGarbage): SIGUSR1 starts it on this port.
  const service = reaper.spawn('gateway', process.execPath, [`--inspect-port=${HOST}:${inspectPort}`, ENTRY], env);
  const httpUrl = `http://${HOST}:${httpPort}`;
  const stop = async () => {
    await service.stop();
    registry.save(dataDir);
    reaper.removeDir(dataDir);
  };
  try {
    await waitReady(httpUrl, READY_TIMEOUT_MS, () => (service.running() ? null : `gateway exited during start-up:\n${service.output()}`));
  } catch (err) {
    await stop();
    throw err;
  }

  const admin = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
  const register = async (id: string): Promise<void> => {
    const response = await fetch(`${httpUrl}/api/admin/devices`, { method: 'POST', headers: admin, body: JSON.stringify({ id }) });
    const body = (await response.json()) as { secret?: string; error?: { code: string } };
    if (!response.ok || !body.secret) throw new Error(`registering ${id}: ${response.status} ${body.error?.code ?? ''}`);
    registry.add(id, body.secret);
  };
  return {
    kind: 'gateway',
    pid: service.pid,
    url: (transport: Transport) => (transport === 'tcp' ? `mqtt://${HOST}:${mqttPort}` : `ws://${HOST}:${httpPort}/mqtt`),
    devices: async (ids) => {
      const started = Date.now();
      const missing = registry.missing(ids);
      await inParallel(missing, REGISTER_CONCURRENCY, register);
      // Worth a line where it takes a while: it is part of the wall time, not of any figure.
      if (missing.length >= 1000) log(`  registered ${missing.length} devices through the admin API in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return ids.map((id) => registry.account(id));
    },
    watchers: async (count) => {
      // One read-only viewer token serves every watcher: it is stateless and not bound to a client id.
      const response = await fetch(`${httpUrl}/api/tokens`, { method: 'POST' });
      const { username, token } = (await response.json()) as { username: string; token: string };
      return Array.from({ length: count }, (_, i) => ({ clientId: `watcher-${i}`, username, password: token }));
    },
    stored: () => metricValue(httpUrl, 'gateway_readings_stored_total'),
    collectGarbage: async () => {
      process.kill(service.pid, 'SIGUSR1');
      const inspector = await Inspector.open(inspectPort);
      try {
        await inspector.collectGarbage();
      } finally {
        inspector.close();
      }
    },
    stop,
  };
}
