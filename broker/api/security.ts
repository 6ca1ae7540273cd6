// HTTP hardening: security headers on every answer, a per-address request
// rate limit on the API, and the admin guard. No CORS headers are sent at
// all: the dashboard is served from the same origin, so that is the narrowest
// policy that works.
import { isIP } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { RequestError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { KeyedBuckets } from '../rate-limit.js';
import { safeEqual } from '../registry/secrets.js';

/** On every answer. */
const ALWAYS = { 'x-content-type-options': 'nosniff' };

/**
 * Only on documents: framing, referrer and CSP rules mean nothing to a JSON
 * answer, and on every poll they would be most of its bytes.
 */
const DOCUMENT_HEADERS = {
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  // The dashboard loads only its own bundle and talks to its own origin (HTTP and /mqtt).
  'content-security-policy':
    "default-src 'self'; script-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
};

export function addSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (_request, reply) => {
    reply.headers(ALWAYS);
    if (String(reply.getHeader('content-type') ?? '').startsWith('text/html')) reply.headers(DOCUMENT_HEADERS);
  });
}

/** 429 with Retry-After past `ratePerSecond` requests per client address (burst: two seconds' worth). */
export function addRateLimit(scope: FastifyInstance, ratePerSecond: number, metrics: Metrics): void {
  const buckets = new KeyedBuckets(ratePerSecond, ratePerSecond * 2, Date.now, 50_000);
  scope.addHook('onRequest', async (request, reply) => {
    if (buckets.take(request.ip)) return;
    metrics.httpRateLimited.inc();
    reply.header('retry-after', '1');
    throw new RequestError('rate_limited', `more than ${ratePerSecond} requests per second from ${request.ip}`, 429);
  });
}

function isLoopback(address: string | undefined): boolean {
  if (!address || !isIP(address)) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

/**
 * Admin routes need `Authorization: Bearer ADMIN_TOKEN`; without an
 * ADMIN_TOKEN configured they answer only to the gateway's own machine.
 */
export function adminGuard(adminToken: string | null) {
  return async (request: FastifyRequest): Promise<void> => {
    if (adminToken === null) {
      if (isLoopback(request.socket.remoteAddress)) return;
      throw new RequestError('forbidden', 'admin API is loopback-only until ADMIN_TOKEN is set', 403);
    }
    const header = request.headers.authorization ?? '';
    if (!header.startsWith('Bearer ') || !safeEqual(header.slice(7), adminToken)) {
      throw new RequestError('unauthorized', 'admin API needs Authorization: Bearer <ADMIN_TOKEN>', 401);
    }
  };
}
