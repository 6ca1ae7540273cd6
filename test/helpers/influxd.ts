// A real influxd (Debian package `influxdb`, 1.x) for tests and benchmarks:
// temporary directories, a config file written here, free ports for HTTP and
// for the backup/RPC bind address (1.x binds 8088 by default), wait for /ping,
// SIGTERM to stop. stop() and start() keep the ports and the data, so a test
// can take the database away and bring it back at the same URL.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { makeTempDir } from './gateway.js';
import { findExecutable, requireTool } from './tools.js';
import { freePorts } from '../../lab/gateway-process.js';

export interface Influxd {
  url: string;
  httpPort: number;
  dir: string;
  running(): boolean;
  /** Replaces the config sections added to the defaults (TOML); takes effect at the next start. */
  configure(extraConfig: string): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Runs InfluxQL against `database` (epoch ms) and returns the raw JSON results. */
  query(q: string, database?: string): Promise<any[]>;
  /** Stops influxd and removes its directories. */
  dispose(): Promise<void>;
}

/** True when influxd is installed; off CI a missing one skips with a printed reason, in CI it throws. */
export function influxdAvailable(): boolean {
  return requireTool('influxd', 'influxdb');
}

function config(dir: string, httpPort: number, rpcPort: number): string {
  return `reporting-enabled = false
bind-address = "127.0.0.1:${rpcPort}"
[meta]
  dir = "${dir}/meta"
  logging-enabled = false
[data]
  dir = "${dir}/data"
  wal-dir = "${dir}/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:${httpPort}"
  log-enabled = false
[continuous_queries]
  enabled = false
[subscriber]
  enabled = false
`;
}

async function pinged(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/ping`)).status === 204;
  } catch {
    return false;
  }
}

/** `extraConfig`: TOML sections added to the defaults, e.g. a `[coordinator]` query limit. */
export async function startInfluxd(extraConfig = ''): Promise<Influxd> {
  const dir = makeTempDir('influxd-');
  // Free ports are found by binding and releasing them; another process may take one in between, so retry.
  for (let attempt = 1; ; attempt++) {
    const [httpPort, rpcPort] = await freePorts(2) as [number, number];
    const instance = new InfluxdProcess(dir, httpPort, rpcPort, extraConfig);
    try {
      await instance.start();
      return instance;
    } catch (err) {
      await instance.stop();
      if (attempt === 3) {
        fs.rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
}

class InfluxdProcess implements Influxd {
  readonly url: string;
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private output = '';

  constructor(readonly dir: string, readonly httpPort: number, private readonly rpcPort: number, extraConfig: string) {
    this.url = `http://127.0.0.1:${httpPort}`;
    this.configure(extraConfig);
  }

  configure(extraConfig: string): void {
    fs.writeFileSync(path.join(this.dir, 'influxd.conf'), config(this.dir, this.httpPort, this.rpcPort) + extraConfig);
  }

  running(): boolean {
    return this.child !== null;
  }

  async start(): Promise<void> {
    if (this.child) return;
    const influxd = ['influxd', '-config', path.join(this.dir, 'influxd.conf')];
    // setpriv (util-linux) has the kernel SIGTERM influxd when this process
    // dies, so a test worker that is killed before its afterAll leaves no influxd behind.
    const [command, ...args] = findExecutable('setpriv') ? ['setpriv', '--pdeathsig', 'TERM', '--', ...influxd] : influxd;
    const child = spawn(command!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.output = '';
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-4000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    let gone = false;
    void this.exited.then(() => {
      gone = true;
      if (this.child === child) this.child = null;
    });
    const deadline = Date.now() + 15_000;
    while (!(await pinged(this.url))) {
      if (gone) throw new Error(`influxd exited during start-up:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`influxd did not answer /ping within 15 s:\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(killer);
    this.child = null;
  }

  async query(q: string, database = 'telemetry'): Promise<any[]> {
    const params = new URLSearchParams({ q, db: database, epoch: 'ms' });
    const response = await fetch(`${this.url}/query?${params}`, { method: 'POST' });
    const body = (await response.json()) as { results: any[]; error?: string };
    if (!response.ok || body.error) throw new Error(`influx query failed (${response.status}): ${body.error ?? ''}`);
    return body.results;
  }

  async dispose(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
