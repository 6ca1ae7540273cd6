// The docker compose stack, checked without a Docker engine: docker-compose
// validates the file (healthcheck conditions included), and the stack has the
// shape issue #5 asks for; the Dockerfile builds with the npm scripts CI runs.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../broker/config.js';
import { composeConfig, parseDockerfile, stageChain, type ComposeFile } from '../helpers/compose.js';
import { requireTool } from '../helpers/tools.js';

const hasCompose = requireTool('docker-compose', 'docker-compose');

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

  it('keeps local installs, builds and data out of the build context', () => {
    const ignored = fs.readFileSync('.dockerignore', 'utf8').split('\n').map((l) => l.trim());
    expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', 'dist', 'data', '.git']));
  });
});
