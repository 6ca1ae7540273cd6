// Process entry: configuration, the gateway, the demo fleet, signals and exit
// codes. Everything else lives behind createGateway so tests run the same code.
import { pino } from 'pino';
import { deviceIds, startFleet, type Fleet } from '../devices/fleet.js';
import { loadConfig, type Config } from './config.js';
import { ConfigError } from './errors.js';
import { createGateway, type Gateway } from './gateway.js';

const DEMO_PREFIX = 'demo';

/** 0.0.0.0 is where the gateway listens, not an address a browser can open. */
function browsable(address: string): string {
  return address.replace('://0.0.0.0:', '://localhost:').replace('://[::]:', '://localhost:');
}

async function startDemo(config: Readonly<Config>, gateway: Gateway): Promise<Fleet | null> {
  if (!config.demo) return null;
  const log = gateway.logger.child({ component: 'demo' });
  let credentials: Map<string, string> | undefined;
  if (config.auth) {
    // Demo devices get fresh secrets at every start; the secrets live only in this process.
    const ids = deviceIds(config.demoDevices, DEMO_PREFIX);
    const provisioned = await Promise.all(ids.map((id) => gateway.registry.provision(id)));
    credentials = new Map(provisioned.map(({ id, secret }) => [id, secret]));
    log.warn({ devices: ids.length }, `DEMO: provisioned ${ids[0]}..${ids.at(-1)} in the device registry with fresh secrets (DEMO=off to stop)`);
  }
  const fleet = await startFleet({
    credentials,
    url: browsable(gateway.addresses.mqtt),
    count: config.demoDevices,
    rate: config.demoRate,
    idPrefix: DEMO_PREFIX,
    profile: 'mixed',
    log: (line) => log.debug(line),
  });
  log.info({ devices: config.demoDevices, rate: config.demoRate }, 'demo fleet publishing (DEMO=off to disable)');
  return fleet;
}

async function main(): Promise<number> {
  let config: Readonly<Config>;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 2;
  }

  const logger = pino({ level: config.logLevel });
  const gateway = await createGateway(config, { logger });
  const fleet = await startDemo(config, gateway);
  const { mqtt, ws, http } = gateway.addresses;
  logger.info({ mqtt, ws, store: config.store, sqlitePath: config.sqlitePath }, 'gateway listening');
  logger.info(`dashboard: ${browsable(http)}/`);
  // The JSON log is for machines; a person at a terminal gets the URL plainly too.
  if (process.stdout.isTTY) process.stdout.write(`\n  Dashboard: ${browsable(http)}/\n  MQTT:      ${browsable(mqtt)}\n\n`);

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn(`${signal} again: exiting without a clean shutdown`);
        resolve(130);
        return;
      }
      stopping = true;
      logger.info(`${signal}: shutting down`);
      (async () => {
        await fleet?.stop();
        const lost = await gateway.close();
        resolve(lost === 0 ? 0 : 1);
      })().catch((err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        resolve(1);
      });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`gateway failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
