// Short-lived, read-only viewer tokens for browsers, in the spirit of IoT
// Core's presigned WebSocket URLs: the HTTP API hands one out, the browser
// presents it as its MQTT password, and the policy lets it only subscribe.
// Stateless (HMAC-SHA256), so verifying one costs no I/O.
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { safeEqual } from './secrets.js';

/** The MQTT username a viewer connects with; `$` can never start a device id. */
export const VIEWER_USERNAME = '$viewer';

export interface ViewerToken {
  token: string;
  expiresAt: number;
}

interface Claims {
  /** Token id, for logs. */
  jti: string;
  /** Expiry, ms since the epoch. */
  exp: number;
}

export class TokenIssuer {
  private readonly key: Buffer;

  /** `secret` shared by every gateway of a cluster; a random per-process key otherwise. */
  constructor(private readonly ttlMs: number, secret?: string, private readonly now: () => number = Date.now) {
    this.key = secret ? Buffer.from(secret) : randomBytes(32);
  }

  private sign(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }

  issue(): ViewerToken {
    const claims: Claims = { jti: randomUUID(), exp: this.now() + this.ttlMs };
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return { token: `${body}.${this.sign(body)}`, expiresAt: claims.exp };
  }

  /** The token's id when it is authentic and unexpired, else null. */
  verify(token: string): string | null {
    const dot = token.indexOf('.');
    if (dot <= 0 || token.length > 512) return null;
    const body = token.slice(0, dot);
    if (!safeEqual(token.slice(dot + 1), this.sign(body))) return null;
    try {
      const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Partial<Claims>;
      return typeof claims.exp === 'number' && claims.exp > this.now() && typeof claims.jti === 'string' ? claims.jti : null;
    } catch {
      return null;
    }
  }
}
