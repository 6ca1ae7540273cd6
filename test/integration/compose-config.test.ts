// The docker compose stack, checked without a Docker engine: docker-compose
// validates the file (healthcheck conditions included), and the stack has the
// shape issue #5 asks for, with the cluster profile of issue #8 (HAProxy's own
// check validates the balancer's configuration); the Dockerfile builds with
// the npm scripts CI runs.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS, loadConfig } from '../../broker/config.js';
import { composeConfig, parseDockerfile, stageChain, type ComposeFile } from '../helpers/compose.js';
import { requireTool } from '../helpers/tools.js';

const hasCompose = requireTool('docker-compose', 'docker-compose');
const hasHaproxy = requireTool('haproxy', 'haproxy');

describe.skipIf(!hasCompose)('docker-compose.yml', () => {
  let services: ComposeFile['services'];
  let volumes: ComposeFile['volumes'];
  beforeAll(() => {
    ({ services, volumes } = composeConfig());
  });

  it('is valid for docker-compose (`config -q`)', () => {
    expect(() => execFileSync('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], { stdio: 'pipe' })).not.toThrow();
  });

  it('runs InfluxDB 1.11 on a named volume, healthy once /ping answers', () => {
    const influxdb = services.influxdb!;
    expect(influxdb.image).toBe('influxdb:1.11');
    expect(influxdb.volumes).toContain('influxdb-data:/var/lib/influxdb:rw');
    expect(Object.keys(volumes ?? {})).toContain('influxdb-data');
    expect(influxdb.healthcheck!.test.join(' ')).toMatch(/http:\/\/localhost:8086\/ping/);
  });

  it('builds the gateway from the Dockerfile, on InfluxDB, listening on all interfaces, after InfluxDB is healthy', () => {
    const gateway = services.gateway!;
    expect(gateway.build?.context).toBe(process.cwd());
    expect(gateway.environment).toMatchObject({ STORE: 'influxdb', HOST: '0.0.0.0', INFLUX_URL: 'http://influxdb:8086' });
    expect(gateway.depends_on).toEqual({ influxdb: { condition: 'service_healthy' } });
    expect(gateway.ports).toEqual([{ published: 1883, target: Number(DEFAULTS.MQTT_PORT) }, { published: 8080, target: Number(DEFAULTS.HTTP_PORT) }]);
    expect(gateway.healthcheck!.test.join(' ')).toContain('/healthz');
    // The spool lives under DATA_DIR: it must be a volume, or a restarted container loses it.
    const dataDir = gateway.environment!.DATA_DIR!;
    expect(gateway.volumes).toContain(`gateway-data:${dataDir}:rw`);
  });

  it('runs a simulator fleet from the same image against the gateway', () => {
    const devices = services.devices!;
    expect(devices.image).toBe(services.gateway!.image);
    expect(devices.command!.slice(0, 4)).toEqual(['node', 'dist/devices/cli.js', '--url', 'mqtt://gateway:1883']);
    expect(devices.command).toEqual(expect.arrayContaining(['--count', '--rate']));
    expect(devices.depends_on).toEqual({ gateway: { condition: 'service_healthy' } });
  });
});

/** Frontends' bind ports and backends' servers of an HAProxy configuration. */
function haproxySections(text: string): { binds: Record<string, number>; servers: Record<string, Array<{ name: string; host: string; port: number }>> } {
  const binds: Record<string, number> = {};
  const servers: Record<string, Array<{ name: string; host: string; port: number }>> = {};
  let section = '';
  for (const line of text.split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean)) {
    const [keyword = '', ...rest] = line.split(/\s+/);
    if (['global', 'defaults', 'frontend', 'backend', 'resolvers', 'listen'].includes(keyword)) section = `${keyword} ${rest[0] ?? ''}`.trim();
    else if (keyword === 'bind') binds[section] = Number(rest[0]!.split(':').at(-1));
    else if (keyword === 'server') {
      const [name = '', address = ''] = rest;
      const [host = '', port = ''] = address.split(':');
      (servers[section] ??= []).push({ name, host, port: Number(port) });
    }
  }
  return { binds, servers };
}

describe.skipIf(!hasCompose)('docker-compose.yml, profile cluster', () => {
  let services: ComposeFile['services'];
  beforeAll(() => {
    ({ services } = composeConfig());
  });
  const cluster = () => Object.entries(services).filter(([, s]) => s.profiles?.includes('cluster'));
  const gateways = () => cluster().filter(([, s]) => s.environment?.REDIS_URL);

  it('adds Redis, two clustered gateways, a balancer and a fleet, and leaves the default stack alone', () => {
    expect(cluster().map(([name]) => name).sort()).toEqual(['balancer', 'devices-cluster', 'gateway-1', 'gateway-2', 'redis']);
    for (const name of ['influxdb', 'gateway', 'devices']) expect(services[name]!.profiles).toBeUndefined();
    const redis = services.redis!;
    expect(redis.image).toMatch(/^redis:7/);
    expect(redis.command).toEqual(expect.arrayContaining(['--appendonly', 'yes']));
    expect(redis.volumes).toContain('redis-data:/data:rw');
    expect(redis.healthcheck!.test).toEqual(['CMD', 'redis-cli', 'ping']);
  });

  it('runs each gateway from the image on Redis and InfluxDB, with its own node id and data volume, and a valid configuration', () => {
    const nodes = gateways();
    expect(nodes.map(([name]) => name)).toEqual(['gateway-1', 'gateway-2']);
    const ids = new Set<string>([services.gateway!.environment!.NODE_ID!]);
    const volumes = new Set<string>();
    for (const [name, gateway] of nodes) {
      expect(gateway.image, name).toBe(services.gateway!.image);
      expect(gateway.environment).toMatchObject({ REDIS_URL: 'redis://redis:6379', STORE: 'influxdb', INFLUX_URL: 'http://influxdb:8086', HOST: '0.0.0.0' });
      expect(gateway.depends_on).toEqual({ influxdb: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } });
      expect(gateway.healthcheck!.test.join(' ')).toContain('/healthz');
      const config = loadConfig(gateway.environment!);
      expect([config.redisUrl, config.brokerPersistence, config.nodeId]).toEqual(['redis://redis:6379', 'redis', gateway.environment!.NODE_ID]);
      ids.add(config.nodeId);
      volumes.add(gateway.volumes![0]!.split(':')[0]!);
    }
    expect(ids.size).toBe(3);
    expect(volumes.size).toBe(2);
  });

  it('puts HAProxy in front of exactly those gateways for MQTT and HTTP, and publishes it beside the default gateway', () => {
    const balancer = services.balancer!;
    expect(balancer.image).toMatch(/^haproxy:/);
    const [source, target] = balancer.volumes![0]!.split(':');
    expect(target).toBe('/usr/local/etc/haproxy/haproxy.cfg');
    expect(source).toBe(`${process.cwd()}/deploy/haproxy.cfg`);
    const { binds, servers } = haproxySections(fs.readFileSync('deploy/haproxy.cfg', 'utf8'));
    expect(Object.values(binds).sort()).toEqual(balancer.ports!.map((p) => p.target).sort());
    const names = gateways().map(([name]) => name);
    expect(servers['backend gateways_mqtt']).toEqual(names.map((name) => ({ name, host: name, port: Number(DEFAULTS.MQTT_PORT) })));
    expect(servers['backend gateways_http']).toEqual(names.map((name) => ({ name, host: name, port: Number(DEFAULTS.HTTP_PORT) })));
    const published = (ports: Array<{ published: number }> | undefined) => (ports ?? []).map((p) => p.published);
    expect(published(balancer.ports).filter((port) => published(services.gateway!.ports).includes(port))).toEqual([]);
    expect(services['devices-cluster']!.command).toEqual(expect.arrayContaining(['--url', `mqtt://balancer:${binds['frontend mqtt']}`, '--id-prefix']));
  });

  it.skipIf(!hasHaproxy)('has an HAProxy configuration that `haproxy -c` accepts', () => {
    expect(() => execFileSync('haproxy', ['-c', '-f', 'deploy/haproxy.cfg'], { stdio: 'pipe' })).not.toThrow();
  });
});

describe('Dockerfile', () => {
  const { stages } = parseDockerfile();

  it('builds in stages on an official Node LTS image and runs as an unprivileged user', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage.from).toMatch(/^(node:(20|22|24)[-.\w]*|toolchain|deps|build)$/);
    const runtime = stages.at(-1)!;
    const user = runtime.instructions.filter((i) => i.op === 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(runtime.instructions.find((i) => i.op === 'CMD')?.args).toBe('["node", "dist/broker/main.js"]');
  });

  it('builds with the npm scripts CI runs, ships production dependencies only, and has a toolchain for better-sqlite3', () => {
    const run = (name: string) => stageChain(stages, name).flatMap((s) => s.instructions).filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(run('build')).toEqual(expect.arrayContaining([expect.stringMatching(/^npm ci\b/), 'npm run build']));
    expect(run('deps')).toEqual(expect.arrayContaining([expect.stringMatching(/^npm ci --omit=dev\b/)]));
    for (const tool of ['python3', 'make', 'g\\+\\+']) expect(run('deps').join(' ')).toMatch(new RegExp(`apt-get install .*\\b${tool}`));
    const ci = fs.readFileSync('.ci/run', 'utf8');
    expect(ci).toMatch(/^npm ci\b/m);
    expect(JSON.parse(fs.readFileSync('package.json', 'utf8')).scripts.build).toBeDefined();
    const copies = stages.at(-1)!.instructions.filter((i) => i.op === 'COPY').map((i) => i.args);
    expect(copies).toEqual(expect.arrayContaining(['--from=deps /app/node_modules ./node_modules', '--from=build /app/dist ./dist']));
  });

  it('copies patches/ in before every npm ci, whose postinstall applies them to aedes and mqtt-packet', () => {
    expect(JSON.parse(fs.readFileSync('package.json', 'utf8')).scripts.postinstall).toBe('patch-package');
    for (const name of ['deps', 'build']) {
      const instructions = stageChain(stages, name).flatMap((s) => s.instructions);
      const install = instructions.findIndex((i) => i.op === 'RUN' && /^npm ci\b/.test(i.args));
      const copied = instructions.slice(0, install).filter((i) => i.op === 'COPY').flatMap((i) => i.args.split(' ').slice(0, -1));
      expect(copied, `stage ${name}`).toContain('patches');
    }
  });

  it('keeps local installs, builds and data out of the build context', () => {
    const ignored = fs.readFileSync('.dockerignore', 'utf8').split('\n').map((l) => l.trim());
    expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', 'dist', 'data', '.git']));
  });
});
