// The gateway as its own process (`broker/main.ts` through tsx, as
// influx-spool-restart.test.ts runs it), for the tests that kill it: free
// ports, a data directory that outlives the process so a restart finds its
// spool, SQLite file and broker persistence, and SIGKILL as a crash.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Env } from '../../broker/config.js';
import { makeTempDir, TEST_DEFAULTS } from './gateway.js';
import { freePorts } from '../../lab/gateway-process.js';
import { findExecutable } from './tools.js';

export interface GatewayProcess {
  mqttUrl: string;
  httpUrl: string;
  mqttPort: number;
  httpPort: number;
  dataDir: string;
  env: Env;
  /** The end of its stdout and stderr. */
  log(): string;
  running(): boolean;
  /** SIGKILL: no shutdown, as a crash. */
  kill(): Promise<void>;
  /** SIGTERM and the exit code. */
  stop(): Promise<number | null>;
}

export interface GatewayProcessOptions {
  env?: Record<string, string>;
  /** Reuse a data directory (a restart); a new temporary one otherwise. The caller removes it. */
  dataDir?: string;
  /** Listen on these ports again (a restart); free ones otherwise. */
  ports?: { mqtt: number; http: number };
}

export async function spawnGateway(opts: GatewayProcessOptions = {}): Promise<GatewayProcess> {
  const dataDir = opts.dataDir ?? makeTempDir('gw-proc-');
  const [freeMqtt, freeHttp] = await freePorts(2) as [number, number];
  const mqttPort = opts.ports?.mqtt ?? freeMqtt;
  const httpPort = opts.ports?.http ?? freeHttp;
  const env: Env = {
    ...TEST_DEFAULTS,
    // Warnings reach log(), for the error message of a test that fails.
    LOG_LEVEL: 'warn',
    ...opts.env,
    DATA_DIR: dataDir, MQTT_PORT: String(mqttPort), HTTP_PORT: String(httpPort),
  };
  const gateway = [process.execPath, '--import', 'tsx', 'broker/main.ts'];
  // SIGKILL when the test worker dies first: no gateway outlives its test.
  const [command, ...args] = findExecutable('setpriv') ? ['setpriv', '--pdeathsig', 'KILL', '--', ...gateway] : gateway;
  const child: ChildProcess = spawn(command!, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const running = () => child.exitCode === null && child.signalCode === null;
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (!running()) throw new Error(`gateway exited during start-up:\n${output}`);
    if (await fetch(`${httpUrl}/readyz`).then((r) => r.ok, () => false)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`gateway not ready within 30 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
    httpUrl,
    mqttPort,
    httpPort,
    dataDir,
    env,
    log: () => output,
    running,
    async kill() {
      if (running()) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (running()) child.kill('SIGTERM');
      return exited;
    },
  };
}
