// Where the broker keeps what outlives a connection (subscriptions of
// persistent sessions, their queued QoS 1/2 messages, retained messages,
// wills), and how messages travel between brokers (issue #8):
//
//   level   one node: a LevelDB directory under DATA_DIR (aedes-persistence-level
//           on classic-level). Every write reaches the OS before aedes goes on,
//           so a session survives a restart and a kill -9 (not a power loss:
//           LevelDB does not fsync each write).
//   memory  one node, nothing kept across a restart (aedes' own default).
//   redis   cluster: aedes-persistence-redis holds the sessions and
//           mqemitter-redis carries every message between the gateways, so
//           any gateway can serve any device. Redis's own persistence (AOF)
//           decides what survives a Redis restart.
//
// aedes 1.x calls persistences through their async interface: the packages'
// `asyncPersistence.js` classes, not their callback wrappers (`main`).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { ClassicLevel } from 'classic-level';
import { Redis, type RedisOptions } from 'ioredis';
import mqemitterRedis from 'mqemitter-redis';
import type { Logger } from 'pino';
import type { BrokerPersistence, Config } from '../config.js';
import { GatewayError } from '../errors.js';

/** The async persistence interface of aedes 1.x, as far as the gateway calls it. */
export interface AsyncPersistence {
  setup(broker: unknown): Promise<void>;
  destroy(): Promise<void>;
}

type MQEmitter = ReturnType<typeof mqemitterRedis>;

export interface BrokerBackend {
  kind: BrokerPersistence;
  /** For aedes' `persistence` option; undefined keeps aedes' in-memory default. */
  persistence: AsyncPersistence | undefined;
  /** For aedes' `mq` option; undefined keeps aedes' in-process emitter. */
  mq: MQEmitter | undefined;
  /** Releases the database or the Redis connections; call after the broker has closed. */
  close(): Promise<void>;
}

/** The broker's persistence cannot be opened (e.g. another gateway holds the directory). */
export class PersistenceError extends GatewayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('GW_ERR_PERSISTENCE', message, 500, options);
  }
}

const require = createRequire(import.meta.url);

function levelPersistence(db: ClassicLevel<string, Buffer>): AsyncPersistence {
  const AsyncLevelPersistence = require('aedes-persistence-level/asyncPersistence.js') as new (db: unknown) => AsyncPersistence;
  return new AsyncLevelPersistence(db);
}

interface RetainedStreams {
  createRetainedStream(pattern: string): AsyncIterable<unknown>;
  createRetainedStreamCombi(patterns: string[]): AsyncIterable<unknown>;
}

/**
 * Queued messages a persistent session gets when it reconnects; the rest wait
 * for its next connect. aedes-persistence-redis defaults to 1,000, which a
 * device offline for a few minutes exceeds; LevelDB has no such limit.
 */
const REDIS_SESSION_DELIVERY = 100_000;

function redisPersistence(conn: Redis): AsyncPersistence {
  type Options = { conn: Redis; maxSessionDelivery: number };
  const AsyncRedisPersistence = require('aedes-persistence-redis/asyncPersistence.js') as new (opts: Options) => AsyncPersistence & RetainedStreams;
  const persistence = new AsyncRedisPersistence({ conn, maxSessionDelivery: REDIS_SESSION_DELIVERY });
  // aedes 1.2 `.pipe()`s the retained messages for a new subscription; aedes-persistence-redis 11
  // answers with an async generator, which has no pipe (the subscribing client's broker would throw).
  const single = persistence.createRetainedStream.bind(persistence);
  const combi = persistence.createRetainedStreamCombi.bind(persistence);
  persistence.createRetainedStream = (pattern) => Readable.from(single(pattern));
  persistence.createRetainedStreamCombi = (patterns) => Readable.from(combi(patterns));
  return persistence;
}

async function openLevel(dir: string): Promise<BrokerBackend> {
  fs.mkdirSync(dir, { recursive: true });
  const db = new ClassicLevel<string, Buffer>(dir);
  try {
    await db.open();
  } catch (err) {
    // LevelDB's LOCK file: one process per directory, so two gateways cannot share a DATA_DIR.
    throw new PersistenceError(`cannot open the broker persistence in ${dir} (is another gateway using this DATA_DIR?)`, { cause: err });
  }
  const persistence = levelPersistence(db);
  return { kind: 'level', persistence, mq: undefined, close: () => persistence.destroy() };
}

/**
 * Three connections, as the packages need: mqemitter-redis subscribes on one
 * (a subscribed Redis connection takes no other commands) and publishes on
 * another; the persistence has its own. ioredis reconnects with backoff and
 * queues commands meanwhile, so a restarted Redis needs no restart of the
 * gateway. Queued commands wait for Redis however long it is away
 * (`maxRetriesPerRequest: null`): ioredis would otherwise fail them after 20
 * reconnect attempts (about 10 s), and aedes-persistence-redis leaves some of
 * its commands' promises unobserved (wills, stale queue entries), which ends
 * the process. Meanwhile PUBACKs wait (readings are ingested before routing),
 * so devices slow down to their in-flight window instead of piling up.
 */
function openRedis(url: string, nodeId: string, logger: Logger): BrokerBackend {
  const connect = (role: string): Redis => {
    const options: RedisOptions = { connectionName: `gateway:${nodeId}:${role}`, enableAutoPipelining: true, maxRetriesPerRequest: null };
    const conn = new Redis(url, options);
    let down = false;
    conn.on('error', (err: Error) => {
      if (!down) logger.error({ role, err: err.message }, 'redis connection lost; reconnecting');
      down = true;
    });
    conn.on('ready', () => {
      if (down) logger.warn({ role }, 'redis connection restored');
      down = false;
    });
    return conn;
  };
  const [pub, sub, db] = [connect('pub'), connect('sub'), connect('db')];
  // Configured as broker.ts configures aedes' own emitter: `#` matches the parent level too
  // [MQTT-4.7.1-3], and no queue inside mqemitter (admission.ts bounds the messages in flight).
  const mq = mqemitterRedis({ pubConn: pub, subConn: sub, matchEmptyLevels: true, concurrency: 0 });
  // mqemitter-redis re-emits connection errors here; an EventEmitter 'error' without a listener would end the process.
  (mq as unknown as { state: NodeJS.EventEmitter }).state.on('error', () => {});
  // Closing waits for Redis to confirm (QUIT), which never comes while it is away: shutdown goes on
  // after a grace period, so the ingest queue is still written when Redis is down.
  const closeMq = mq.close.bind(mq);
  mq.close = (done: () => void) => void withGrace((resolve) => closeMq(resolve), [pub, sub]).then(done);
  const persistence = redisPersistence(db);
  return { kind: 'redis', persistence, mq, close: () => withGrace((resolve) => void persistence.destroy().then(resolve, resolve), [db]) };
}

const CLOSE_GRACE_MS = 2_000;

/** Runs `close`; past the grace period, or once it is done, drops the connections (ending their reconnect timers). */
function withGrace(close: (resolve: () => void) => void, conns: Redis[]): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, CLOSE_GRACE_MS);
    close(() => {
      clearTimeout(timer);
      resolve();
    });
  }).then(() => {
    for (const conn of conns) conn.disconnect();
  });
}

export async function openBrokerBackend(
  config: Pick<Config, 'brokerPersistence' | 'brokerDir' | 'redisUrl' | 'nodeId'>,
  logger: Logger,
): Promise<BrokerBackend> {
  switch (config.brokerPersistence) {
    case 'level':
      return openLevel(config.brokerDir);
    case 'redis':
      return openRedis(config.redisUrl!, config.nodeId, logger);
    case 'memory':
      return { kind: 'memory', persistence: undefined, mq: undefined, close: async () => {} };
  }
}
