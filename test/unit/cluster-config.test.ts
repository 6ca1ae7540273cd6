import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultNodeId } from '../../broker/config-cluster.js';
import { loadConfig } from '../../broker/config.js';
import { ConfigError } from '../../broker/errors.js';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

describe('cluster and broker persistence settings', () => {
  it('defaults to one node with sessions on disk under DATA_DIR, and a node id stable for the same host and data directory', () => {
    const config = loadConfig({ DATA_DIR: '/tmp/gw-a' });
    expect(config).toMatchObject({ redisUrl: null, brokerPersistence: 'level', brokerDir: path.resolve('/tmp/gw-a/broker') });
    expect(config.nodeId).toBe(loadConfig({ DATA_DIR: '/tmp/gw-a' }).nodeId);
    expect(config.nodeId).not.toBe(loadConfig({ DATA_DIR: '/tmp/gw-b' }).nodeId);
    expect(defaultNodeId('/data', 'web 1/x.example')).toMatch(/^web-1-x\.example-[0-9a-f]{8}$/);
  });

  it('clusters with REDIS_URL on InfluxDB, with sessions in Redis', () => {
    const config = loadConfig({ REDIS_URL: 'redis://redis:6379', STORE: 'influxdb', NODE_ID: 'gateway-1' });
    expect(config).toMatchObject({ redisUrl: 'redis://redis:6379', brokerPersistence: 'redis', nodeId: 'gateway-1' });
    expect(loadConfig({ BROKER_PERSISTENCE: 'memory' }).brokerPersistence).toBe('memory');
  });

  it('reports every inconsistent setting together', () => {
    expect(problems({ REDIS_URL: 'http://redis', BROKER_PERSISTENCE: 'level', NODE_ID: 'a/b' }).map((p) => p.split(/[=\s]/)[0])).toEqual([
      'REDIS_URL:', 'REDIS_URL', 'BROKER_PERSISTENCE', 'NODE_ID',
    ]);
    expect(problems({ BROKER_PERSISTENCE: 'redis' })).toEqual(['BROKER_PERSISTENCE=redis needs REDIS_URL']);
    expect(problems({ BROKER_PERSISTENCE: 'disk' })[0]).toMatch(/^BROKER_PERSISTENCE="disk": expected one of level, memory, redis/);
  });
});
