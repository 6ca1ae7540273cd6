// The gateway under measurement, in its own process so its CPU time
// (gateway_process_cpu_seconds_total) is its own and not the clients'. Port 0
// cannot be used here: the child would pick ports the parent cannot read back
// from a log it keeps quiet, so free ports are picked first.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface GatewayProcess {
  httpUrl: string;
  mqttUrl: string;
  stop(): Promise<void>;
}

/**
 * `count` distinct ports that were free a moment ago. All are held open until
 * the last is picked, so two of them can never be the same port (picked one
 * after another, the kernel may hand a just-released port out again).
 */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => new Promise<net.Server>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => resolve(server));
  })));
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return (await freePorts(1, host))[0]!;
}

/** Polls GET /readyz until it answers 200, or `timeoutMs` passes. */
export async function waitReady(httpUrl: string, timeoutMs: number, failed: () => string | null = () => null): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const why = failed();
    if (why !== null) throw new Error(why);
    try {
      if ((await fetch(`${httpUrl}/readyz`)).status === 200) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`gateway at ${httpUrl} not ready after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function exited(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * Starts `broker/main.ts` under tsx (the gateway as `npm start` runs it,
 * without a build step) on the embedded store in a temporary DATA_DIR, with
 * no demo fleet, anonymous devices allowed (the lab's publishers have no
 * credentials) and no per-address API rate limit.
 */
export async function spawnGateway(extraEnv: Record<string, string> = {}): Promise<GatewayProcess> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'gw-compare-'));
  const host = '127.0.0.1';
  const [mqttPort, httpPort] = await freePorts(2, host) as [number, number];
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'broker/main.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      HOST: host,
      MQTT_PORT: String(mqttPort),
      HTTP_PORT: String(httpPort),
      DATA_DIR: dataDir,
      DEMO: 'off',
      AUTH: 'off',
      // Every lab client calls from 127.0.0.1; the per-address API limit would measure itself, not the methods.
      HTTP_RATE: '1000000',
      LOG_LEVEL: 'error',
      ...extraEnv,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // The last lines of stderr explain a failed start.
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4000)));
  const httpUrl = `http://${host}:${httpPort}`;

  const stop = async () => {
    if (!(await exited(child, 0))) {
      child.kill('SIGTERM');
      if (!(await exited(child, 10_000))) child.kill('SIGKILL');
    }
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    await waitReady(httpUrl, 30_000, () =>
      child.exitCode !== null ? `gateway exited with code ${child.exitCode}: ${stderr.trim()}` : null);
  } catch (err) {
    await stop();
    throw err;
  }
  return { httpUrl, mqttUrl: `mqtt://${host}:${mqttPort}`, stop };
}

/** prom-client's process_cpu_seconds_total (user + system) under the gateway's `gateway_` prefix. */
const CPU_LINE = /^gateway_process_cpu_seconds_total (\S+)$/m;

/** The gateway's own CPU time so far, seconds. */
export async function cpuSeconds(httpUrl: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const match = CPU_LINE.exec(text);
  if (!match) throw new Error(`${httpUrl}/metrics has no gateway_process_cpu_seconds_total`);
  return Number(match[1]);
}
