// The settings of issue #8 (durable sessions, cluster mode), read by
// config.ts's loadConfig: REDIS_URL, NODE_ID and BROKER_PERSISTENCE.
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { Config, Reader, StoreKind } from './config.js';

/** Where the broker keeps sessions, queued messages, retained messages and wills. */
export type BrokerPersistence = 'level' | 'memory' | 'redis';

/** Node ids go into InfluxDB tags and series cursors (`node:time,...`). */
export const NODE_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** Shown as NODE_ID's default (README); stands for defaultNodeId(). */
export const DEFAULT_NODE_ID = '$HOSTNAME-$DATA_DIR_HASH';

const PERSISTENCES: readonly BrokerPersistence[] = ['level', 'memory', 'redis'];

export type ClusterConfig = Pick<Config, 'redisUrl' | 'nodeId' | 'brokerPersistence' | 'brokerDir'>;

/**
 * Stable across restarts of the same gateway (same host, same data
 * directory) and distinct for two gateways on one host, which cannot share a
 * data directory anyway. Stable matters: every node id that ever wrote a
 * series takes a place in that series' cursors (broker/store/influx-cursor.ts),
 * so a fresh id per start would grow them without bound.
 */
export function defaultNodeId(dataDir: string, hostname = os.hostname()): string {
  const host = hostname.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 48) || 'gateway';
  return `${host}-${createHash('sha256').update(dataDir).digest('hex').slice(0, 8)}`;
}

function redisProblem(url: string): string | null {
  try {
    if (['redis:', 'rediss:'].includes(new URL(url).protocol)) return null;
  } catch {
    // not a URL at all
  }
  return 'REDIS_URL: expected redis://[user:password@]host:port[/db] or rediss://...';
}

export function readCluster(r: Reader, dataDir: string, store: StoreKind): ClusterConfig {
  const redisUrl = r.optional('REDIS_URL');
  if (redisUrl !== null) {
    const problem = redisProblem(redisUrl);
    if (problem) r.problems.push(problem);
    // Each node's SQLite file would hold only what that node received: behind a balancer, reads would disagree.
    if (store !== 'influxdb') r.problems.push(`REDIS_URL (cluster mode) needs the shared store STORE=influxdb, not ${store}`);
  }
  const brokerPersistence = r.raw('BROKER_PERSISTENCE') === '' ? (redisUrl ? 'redis' : 'level') : r.oneOf('BROKER_PERSISTENCE', PERSISTENCES);
  if (redisUrl !== null && brokerPersistence !== 'redis') {
    r.problems.push(`BROKER_PERSISTENCE=${brokerPersistence} with REDIS_URL: a cluster keeps sessions in Redis (leave it unset)`);
  }
  if (redisUrl === null && brokerPersistence === 'redis') r.problems.push('BROKER_PERSISTENCE=redis needs REDIS_URL');
  const nodeText = r.raw('NODE_ID');
  const nodeId = nodeText === DEFAULT_NODE_ID ? defaultNodeId(dataDir) : nodeText;
  if (!NODE_ID_PATTERN.test(nodeId)) r.problems.push(`NODE_ID=${JSON.stringify(nodeId)}: expected 1-64 characters of A-Z a-z 0-9 _ . -`);
  return { redisUrl, nodeId, brokerPersistence, brokerDir: path.join(dataDir, 'broker') };
}
