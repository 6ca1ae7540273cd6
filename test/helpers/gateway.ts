// The real gateway on port 0 with a temporary data directory (STYLE.md §12).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { loadConfig, type Env } from '../../broker/config.js';
import { createGateway, type Gateway } from '../../broker/gateway.js';

export const DASHBOARD_BUILD = path.resolve('dist/dashboard');

export interface TestGateway {
  gateway: Gateway;
  mqttUrl: string;
  wsUrl: string;
  httpUrl: string;
  dataDir: string;
  /** Closes the gateway and removes its data directory (unless keepData). */
  close(options?: { keepData?: boolean }): Promise<void>;
}

export function makeTempDir(prefix = 'gw-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * Most suites test the data flow, not identity or quotas: they run with
 * AUTH=off and limits out of the way. The security suites pass the defaults
 * (or their own values) back in through `env`.
 */
export const TEST_DEFAULTS: Env = {
  HOST: '127.0.0.1',
  MQTT_PORT: '0',
  HTTP_PORT: '0',
  DEMO: 'off',
  LOG_LEVEL: 'silent',
  DASHBOARD_DIR: DASHBOARD_BUILD,
  AUTH: 'off',
  PUBLISH_RATE: '1000000',
  PUBLISH_BURST: '1000000',
  CONNECT_RATE_TOTAL: '1000000',
  CONNECT_RATE_PER_CLIENT: '1000',
  FLAP_MAX_CONNECTS: '1000000',
  HTTP_RATE: '1000000',
};

/** `logger` replaces the one built from LOG_LEVEL, e.g. to keep the log for a failure report. */
export async function startTestGateway(env: Env = {}, { logger }: { logger?: Logger } = {}): Promise<TestGateway> {
  const dataDir = env.DATA_DIR ?? makeTempDir();
  const config = loadConfig({
    ...TEST_DEFAULTS,
    ...env,
    DATA_DIR: dataDir,
  });
  const gateway = await createGateway(config, { logger: logger ?? pino({ level: config.logLevel }) });
  let closed = false;
  return {
    gateway,
    mqttUrl: gateway.addresses.mqtt,
    wsUrl: gateway.addresses.ws,
    httpUrl: gateway.addresses.http,
    dataDir,
    async close({ keepData = false } = {}) {
      if (!closed) await gateway.close();
      closed = true;
      if (!keepData) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
