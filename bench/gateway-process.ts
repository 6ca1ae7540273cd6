// Starts the built gateway as its own process on free ports, so a benchmark's
// load generator never shares its event loop, and reads its CPU from /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePorts, waitReady } from '../lab/gateway-process.js';
import { procSample } from './proc.js';

/** The parts of GET /api/gateway the benches read: the counters of /metrics without a scrape that lists every open fd. */
export interface GatewayFigures {
  /** When the gateway read its counters, ms since the epoch. */
  at: number;
  connections: Record<string, number>;
  readings: { accepted: number; stored: number };
  dropped: Record<string, number>;
  memory: { pressure: boolean };
}

export interface GatewayProcess {
  pid: number;
  mqttUrl: string;
  httpUrl: string;
  dataDir: string;
  /** User + system CPU time of the gateway process so far, ms. */
  cpuMs(): number;
  /** Resident memory, bytes. */
  rssBytes(): number;
  stats(): Promise<GatewayFigures>;
  stop(): Promise<number | null>;
}

export async function startGatewayProcess(env: Record<string, string> = {}): Promise<GatewayProcess> {
  const entry = path.resolve('dist/broker/main.js');
  if (!fs.existsSync(entry)) throw new Error('dist/broker/main.js missing: run `npm run build` first');
  const [mqttPort, httpPort] = await freePorts(2) as [number, number];
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-bench-'));
  const child: ChildProcess = spawn(process.execPath, [entry], {
    env: { ...process.env, DEMO: 'off', LOG_LEVEL: 'warn', MQTT_PORT: String(mqttPort), HTTP_PORT: String(httpPort), DATA_DIR: dataDir, ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  try {
    await waitReady(httpUrl, 15_000, () => (child.exitCode !== null ? `gateway exited with ${child.exitCode}` : null));
  } catch (err) {
    // A gateway that never got ready must not outlive the benchmark that gave up on it.
    child.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    pid: child.pid!,
    mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
    httpUrl,
    dataDir,
    cpuMs: () => procSample(child.pid!).cpuMs,
    rssBytes: () => procSample(child.pid!).rssBytes,
    stats: async () => (await (await fetch(`${httpUrl}/api/gateway`)).json()) as GatewayFigures,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', (code) => {
          fs.rmSync(dataDir, { recursive: true, force: true });
          resolve(code);
        });
        child.kill('SIGTERM');
      }),
  };
}
