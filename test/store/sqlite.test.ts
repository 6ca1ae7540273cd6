// The store contract against the embedded default: a temporary SQLite file per test.
import fs from 'node:fs';
import path from 'node:path';
import { SqliteStore } from '../../broker/store/sqlite.js';
import { makeTempDir } from '../helpers/gateway.js';
import { storeContract } from './contract.js';

storeContract('sqlite', () => {
  const dir = makeTempDir('store-sqlite-');
  return {
    open: async (now) => new SqliteStore({ path: path.join(dir, 'telemetry.db'), now }),
    cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }),
  };
});
