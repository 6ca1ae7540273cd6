// A gateway cluster for the fault tests (issue #8): a real redis-server, a
// real influxd, and gateway processes sharing both (REDIS_URL, one InfluxDB
// database, a NODE_ID each). dispose() ends all of them and removes their
// directories, whatever state a failed test left them in.
import fs from 'node:fs';
import { spawnGateway, type GatewayProcess } from './gateway-process.js';
import { startInfluxd, type Influxd } from './influxd.js';
import { startRedis, type RedisServer } from './redis.js';

export interface Cluster {
  redis: RedisServer;
  influxd: Influxd;
  database: string;
  nodes: GatewayProcess[];
  /** Seqs stored per device in InfluxDB's `points`, with the node that stored each. */
  stored(): Promise<Map<string, Array<{ seq: number; node: string }>>>;
  dispose(): Promise<void>;
}

export async function startCluster(nodeIds: readonly string[], database: string, env: Record<string, string> = {}): Promise<Cluster> {
  const [redis, influxd] = await Promise.all([startRedis(), startInfluxd()]);
  const nodes: GatewayProcess[] = [];
  const dispose = async () => {
    await Promise.all(nodes.map((n) => n.kill()));
    for (const n of nodes) fs.rmSync(n.dataDir, { recursive: true, force: true });
    await Promise.all([redis.dispose(), influxd.dispose()]);
  };
  try {
    const started = await Promise.allSettled(nodeIds.map((nodeId) => spawnGateway({
      env: { STORE: 'influxdb', INFLUX_URL: influxd.url, INFLUX_DATABASE: database, REDIS_URL: redis.url, NODE_ID: nodeId, ...env },
    })));
    for (const result of started) if (result.status === 'fulfilled') nodes.push(result.value);
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
  } catch (err) {
    await dispose();
    throw err;
  }
  return {
    redis,
    influxd,
    database,
    nodes,
    async stored() {
      const [result] = await influxd.query('SELECT "seq" FROM "points" GROUP BY "device", "node"', database);
      const byDevice = new Map<string, Array<{ seq: number; node: string }>>();
      for (const series of result.series ?? []) {
        const list = byDevice.get(series.tags.device) ?? [];
        for (const [, seq] of series.values as Array<[number, number]>) list.push({ seq, node: series.tags.node });
        byDevice.set(series.tags.device, list);
      }
      return byDevice;
    },
    dispose,
  };
}
