// The compose stack without Docker: build the way the Dockerfile does (its
// COPY steps into a scratch directory, its `npm run` steps there; `npm ci` is
// the installed node_modules, from the same lockfile), then run the gateway
// and devices services' commands from docker-compose.yml as local processes,
// with the services' environment. Service names resolve to 127.0.0.1, their
// ports are remapped to free ones, volumes become temporary directories, and
// InfluxDB is a real influxd. Telemetry from the simulators must arrive in
// InfluxDB and be served by the gateway's API.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../broker/config.js';
import { getJson, waitFor } from '../helpers/clients.js';
import { composeConfig, parseDockerfile, stageChain, type ComposeFile, type ComposeService } from '../helpers/compose.js';
import { makeTempDir } from '../helpers/gateway.js';
import { freePorts } from '../../lab/gateway-process.js';
import { influxdAvailable, startInfluxd, type Influxd } from '../helpers/influxd.js';
import { requireTool } from '../helpers/tools.js';

const run = promisify(execFile);
const ready = requireTool('docker-compose', 'docker-compose') && influxdAvailable();

/** Replays the build stage's COPY and npm steps of the Dockerfile into `root`. */
async function buildLikeDockerfile(root: string): Promise<void> {
  const { stages } = parseDockerfile();
  for (const { op, args } of stageChain(stages, 'build').flatMap((s) => s.instructions)) {
    if (op === 'COPY' && !args.startsWith('--from')) {
      const parts = args.split(' ');
      const dest = parts.pop()!;
      for (const source of parts) {
        const target = dest.endsWith('/') ? path.join(root, dest, path.basename(source)) : path.join(root, dest);
        fs.cpSync(source, target, { recursive: true, filter: (file) => path.basename(file) !== 'node_modules' });
      }
    } else if (op === 'RUN' && /^npm ci\b/.test(args)) {
      fs.symlinkSync(path.resolve('node_modules'), path.join(root, 'node_modules'), 'dir');
    } else if (op === 'RUN' && /^npm run /.test(args)) {
      await run('npm', args.split(' ').slice(1), { cwd: root });
    }
  }
}

interface Local {
  /** `service:port` (and the service's own `localhost:port`) to 127.0.0.1 and its local port. */
  rewrite(text: string, self?: string): string;
}

function localNetwork(ports: Record<string, Record<number, number>>): Local {
  return {
    rewrite(text, self) {
      let out = text;
      for (const [service, map] of Object.entries(ports)) {
        for (const [port, local] of Object.entries(map)) {
          const names = service === self ? [service, 'localhost', '127.0.0.1'] : [service];
          for (const name of names) out = out.replaceAll(`${name}:${port}`, `127.0.0.1:${local}`);
        }
      }
      return out;
    },
  };
}

interface Service {
  child: ChildProcess;
  /** The end of its stdout and stderr. */
  log(): string;
}

/** A compose service's command as a local process: only PATH and the service's environment, as in its container. */
function spawnService(root: string, name: string, service: ComposeService, env: Record<string, string>, net: Local): Service {
  const [command, ...args] = service.command!.map((part) => net.rewrite(part, name));
  expect(command).toBe('node');
  const child = spawn(process.execPath, args, { cwd: root, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (chunk) => (log = (log + chunk).slice(-8000)));
  child.stderr!.on('data', (chunk) => (log = (log + chunk).slice(-8000)));
  return { child, log: () => log };
}

async function stop(service: Service | undefined): Promise<number | null> {
  const child = service?.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return exited;
}

describe.skipIf(!ready)('compose stack as local processes', () => {
  let compose: ComposeFile;
  let influxd: Influxd;
  let root: string;
  let dataDir: string;
  let gateway: Service | undefined;
  let devices: Service | undefined;

  beforeAll(async () => {
    compose = composeConfig();
    root = makeTempDir('compose-root-');
    dataDir = makeTempDir('compose-data-');
    // In parallel, but influxd is kept even when the build fails, so afterAll stops it.
    const starting = startInfluxd();
    try {
      await buildLikeDockerfile(root);
    } finally {
      influxd = await starting;
    }
  }, 120_000);
  afterAll(async () => {
    await stop(devices);
    await stop(gateway);
    await influxd?.dispose();
    for (const dir of [root, dataDir]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('stores the simulators\' telemetry in InfluxDB and serves it from the API', { timeout: 60_000 }, async () => {
    const { gateway: gatewaySpec, devices: devicesSpec } = compose.services;
    // Ports: each published container port gets a free local one; the gateway is told through the setting whose default it is.
    const gatewayPorts: Record<number, number> = {};
    const portEnv: Record<string, string> = {};
    const free = await freePorts(gatewaySpec!.ports!.length);
    for (const [i, { target }] of gatewaySpec!.ports!.entries()) {
      gatewayPorts[target] = free[i]!;
      const setting = Object.entries(DEFAULTS).find(([name, value]) => name.endsWith('_PORT') && value === String(target))![0];
      portEnv[setting] = String(gatewayPorts[target]);
    }
    const net = localNetwork({ influxdb: { 8086: influxd.httpPort }, gateway: gatewayPorts });
    // Volumes: the mount point of the gateway's data volume is a temporary directory here.
    const mount = gatewaySpec!.volumes![0]!.split(':')[1]!;
    const env = Object.fromEntries(Object.entries(gatewaySpec!.environment ?? {})
      .map(([name, value]) => [name, net.rewrite(value.startsWith(mount) ? dataDir + value.slice(mount.length) : value)]));

    gateway = spawnService(root, 'gateway', gatewaySpec!, { ...env, ...portEnv }, net);
    const [healthCommand, ...healthArgs] = gatewaySpec!.healthcheck!.test.slice(1).map((part) => net.rewrite(part, 'gateway'));
    expect(healthCommand).toBe('node');
    await waitFor(async () => {
      if (gateway!.child.exitCode !== null) throw new Error(`gateway exited:\n${gateway!.log()}`);
      return run(process.execPath, healthArgs).then(() => true, () => false);
    }, { timeoutMs: 20_000, intervalMs: 200, what: 'gateway healthcheck' });

    devices = spawnService(root, 'devices', devicesSpec!, {}, net);
    const count = Number(devicesSpec!.command![devicesSpec!.command!.indexOf('--count') + 1]);
    const database = env.INFLUX_DATABASE!;
    await waitFor(async () => {
      const [result] = await influxd.query('SHOW TAG VALUES FROM "points" WITH KEY = "device"', database).catch(() => [{}]);
      return (result.series?.[0]?.values.length ?? 0) === count;
    }, { timeoutMs: 20_000, intervalMs: 250, what: `points from all ${count} simulated devices in InfluxDB` });

    const httpUrl = `http://127.0.0.1:${gatewayPorts[Number(DEFAULTS.HTTP_PORT)]}`;
    const { body: list } = await getJson(`${httpUrl}/api/devices`);
    expect(list.devices).toHaveLength(count);
    const [first] = list.devices;
    const { status, body } = await getJson(`${httpUrl}/api/devices/${first.id}/series?metric=${first.metrics[0]}&after=0`);
    expect(status).toBe(200);
    expect(body.points.length).toBeGreaterThan(0);
    expect((await getJson(`${httpUrl}/readyz`)).body).toMatchObject({ status: 'ready', store: 'influxdb' });
    expect(fs.existsSync(path.join(dataDir, 'registry.db'))).toBe(true);

    await stop(devices);
    expect(await stop(gateway)).toBe(0);
  });
});
