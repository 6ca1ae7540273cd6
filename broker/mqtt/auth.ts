// Who is connecting: connect-time guards (rates, capacity, flapping) and
// authentication (device credentials, viewer tokens, or anonymous when
// AUTH=off). The identity it settles on drives the policy in policy.ts.
import type { Client, ConnectPacket } from 'aedes';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import type { DeviceRegistry } from '../registry/registry.js';
import { VIEWER_USERNAME, type TokenIssuer } from '../registry/tokens.js';
import { FlapDetector, KeyedBuckets, TokenBucket, type FlapOptions } from '../rate-limit.js';
import { ANONYMOUS, type Identity } from './policy.js';

/** CONNACK return codes of MQTT 3.1.1 [MQTT-3.2.2.3]. */
export const CONNACK = { IDENTIFIER_REJECTED: 2, SERVER_UNAVAILABLE: 3, BAD_CREDENTIALS: 4, NOT_AUTHORIZED: 5 } as const;

export interface ConnectLimits {
  maxConnections: number;
  connectRateTotal: number;
  connectRatePerClient: number;
  flapping: FlapOptions;
}

export interface AuthOptions {
  auth: boolean;
  registry: DeviceRegistry;
  tokens: TokenIssuer;
  limits: ConnectLimits;
  connectedClients: () => number;
  /** Called when a client has authenticated, before aedes registers it (and takes over an older session). */
  onAuthenticated?: (client: Client) => void;
  metrics: Metrics;
  logger: Logger;
  now?: () => number;
}

type Done = (error: (Error & { returnCode: number }) | null, success: boolean | null) => void;

function refusal(returnCode: number, message: string): Error & { returnCode: number } {
  return Object.assign(new Error(message), { returnCode });
}

export function createAuth(opts: AuthOptions) {
  const now = opts.now ?? Date.now;
  const identities = new WeakMap<Client, Identity>();
  /** Clients that sent an empty client id with CleanSession=0, which [MQTT-3.1.3-8] refuses; aedes would invent an id. */
  const emptyPersistentId = new WeakSet<Client>();
  const total = new TokenBucket(opts.limits.connectRateTotal, opts.limits.connectRateTotal, now);
  const perClient = new KeyedBuckets(opts.limits.connectRatePerClient, 1, now);
  const flaps = new FlapDetector(opts.limits.flapping, now);
  const { metrics, logger } = opts;

  function refuse(done: Done, client: Client, reason: string, returnCode: number, message: string): void {
    metrics.mqttConnectRefused.inc({ reason });
    logger.info({ clientId: client.id, reason, returnCode }, `connect refused: ${message}`);
    done(refusal(returnCode, message), null);
  }

  function preConnect(client: Client, packet: ConnectPacket, callback: (error: Error | null, success: boolean) => void): void {
    if (!packet.clientId && packet.clean === false) emptyPersistentId.add(client);
    callback(null, true);
  }

  async function identify(client: Client, username: string | undefined, password: Buffer | undefined, settle: Done): Promise<void> {
    const done: Done = (error, success) => {
      if (success) opts.onAuthenticated?.(client);
      settle(error, success);
    };
    if (emptyPersistentId.has(client)) {
      return refuse(done, client, 'empty_client_id', CONNACK.IDENTIFIER_REJECTED, 'a persistent session needs a client id');
    }
    if (username === VIEWER_USERNAME) {
      const tokenId = password ? opts.tokens.verify(password.toString('utf8')) : null;
      if (!tokenId) return refuse(done, client, 'bad_token', CONNACK.BAD_CREDENTIALS, 'viewer token invalid or expired');
      identities.set(client, { kind: 'viewer', tokenId });
      return done(null, true);
    }
    if (!opts.auth) {
      identities.set(client, ANONYMOUS);
      return done(null, true);
    }
    if (username === undefined || password === undefined) {
      return refuse(done, client, 'anonymous', CONNACK.NOT_AUTHORIZED, 'anonymous connections are refused (AUTH=on)');
    }
    if (username !== client.id) {
      return refuse(done, client, 'id_mismatch', CONNACK.IDENTIFIER_REJECTED, 'the client id must equal the username (the device id)');
    }
    if (!(await opts.registry.verify(username, password.toString('utf8')))) {
      return refuse(done, client, 'bad_credentials', CONNACK.BAD_CREDENTIALS, 'unknown device, revoked device or wrong secret');
    }
    identities.set(client, { kind: 'device', id: username });
    done(null, true);
  }

  function authenticate(client: Client, username: string | undefined, password: Buffer | undefined, done: Done): void {
    // Cheap guards first, so a connect storm never reaches the registry.
    const id = client.id;
    const bannedMs = flaps.banned(id);
    if (bannedMs > 0) return refuse(done, client, 'banned', CONNACK.SERVER_UNAVAILABLE, `reconnecting too often; banned for ${Math.ceil(bannedMs / 1000)} s`);
    if (flaps.record(id)) {
      logger.warn({ clientId: id, banMs: opts.limits.flapping.banMs }, 'client is flapping; banned');
      return refuse(done, client, 'banned', CONNACK.SERVER_UNAVAILABLE, 'reconnecting too often; banned');
    }
    if (opts.connectedClients() >= opts.limits.maxConnections) {
      return refuse(done, client, 'max_connections', CONNACK.SERVER_UNAVAILABLE, `the gateway holds its maximum of ${opts.limits.maxConnections} connections`);
    }
    if (!total.take()) return refuse(done, client, 'connect_rate', CONNACK.SERVER_UNAVAILABLE, 'too many connects per second; retry with backoff');
    if (!perClient.take(id)) return refuse(done, client, 'client_connect_rate', CONNACK.SERVER_UNAVAILABLE, 'too many connects per second for this client id');
    identify(client, username, password, done).catch((err: unknown) => {
      logger.error({ err, clientId: id }, 'authentication failed unexpectedly');
      done(refusal(CONNACK.SERVER_UNAVAILABLE, 'authentication unavailable'), null);
    });
  }

  return {
    preConnect,
    authenticate,
    /** The identity authenticate() settled on; undefined before CONNECT completes. */
    identityOf: (client: Client): Identity | undefined => identities.get(client),
  };
}

export type Auth = ReturnType<typeof createAuth>;

/** IoT Core's principalIdentifier, as far as this gateway has one. */
export function principalOf(identity: Identity | undefined): string {
  if (identity?.kind === 'device') return identity.id;
  return identity?.kind === 'viewer' ? '$viewer' : 'anonymous';
}
