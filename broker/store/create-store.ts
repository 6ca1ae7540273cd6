// Picks the store implementation the configuration names.
import type { Config } from '../config.js';
import { InfluxStore } from './influx.js';
import { SqliteStore } from './sqlite.js';
import type { TelemetryStore } from './store.js';

export function createStore(config: Pick<Config, 'store' | 'sqlitePath' | 'influx' | 'nodeId'>, now?: () => number): TelemetryStore {
  switch (config.store) {
    case 'sqlite':
      return new SqliteStore({ path: config.sqlitePath, now });
    case 'influxdb':
      return new InfluxStore({ ...config.influx, node: config.nodeId, now });
  }
}
