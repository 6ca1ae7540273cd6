import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, loadConfig } from '../../broker/config.js';
import { ConfigError } from '../../broker/errors.js';

describe('loadConfig', () => {
  it('uses the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      host: '127.0.0.1',
      mqttPort: 1883,
      httpPort: 8080,
      store: 'sqlite',
      dataDir: path.resolve('data'),
      sqlitePath: path.resolve('data/telemetry.db'),
      demo: true,
      demoDevices: 10,
      logLevel: 'info',
    });
    expect(Object.keys(DEFAULTS)).toContain('SQLITE_PATH');
  });

  it('derives the SQLite path from DATA_DIR unless SQLITE_PATH is set', () => {
    expect(loadConfig({ DATA_DIR: '/tmp/gw' }).sqlitePath).toBe('/tmp/gw/telemetry.db');
    expect(loadConfig({ DATA_DIR: '/tmp/gw', SQLITE_PATH: '/var/x.db' }).sqlitePath).toBe('/var/x.db');
  });

  it('parses switches and numbers', () => {
    const config = loadConfig({ DEMO: 'off', MQTT_PORT: '0', HTTP_PORT: '0', DEMO_RATE: '0.5', LOG_LEVEL: 'WARN' });
    expect([config.demo, config.mqttPort, config.httpPort, config.demoRate, config.logLevel]).toEqual([false, 0, 0, 0.5, 'warn']);
  });

  it('reports every problem at once', () => {
    let error: unknown;
    try {
      loadConfig({ MQTT_PORT: '70000', HTTP_PORT: 'http', STORE: 'mongo', DEMO: 'maybe', INGEST_BATCH_SIZE: '0', LOG_LEVEL: 'loud' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { problems } = error as ConfigError;
    expect(problems).toHaveLength(6);
    for (const name of ['MQTT_PORT', 'HTTP_PORT', 'STORE', 'DEMO', 'INGEST_BATCH_SIZE', 'LOG_LEVEL']) {
      expect(problems.some((p) => p.startsWith(`${name}=`))).toBe(true);
    }
  });

  it('refuses the same port for MQTT and HTTP', () => {
    expect(() => loadConfig({ MQTT_PORT: '9000', HTTP_PORT: '9000' })).toThrow(/both 9000/);
  });

  it('returns a frozen object', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config as { mqttPort: number }).mqttPort = 1;
    }).toThrow(TypeError);
  });
});
