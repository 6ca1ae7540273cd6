// Device secrets: random, shown once, stored only as a salted hash and
// compared in constant time. The secrets are 192 random bits made by the
// gateway, never chosen by people, so a fast hash is enough: guessing 2^192
// values is out of reach whatever each guess costs, and a slow password KDF
// would only make every connect expensive (scrypt at N=2^14 measured 44 ms of
// CPU per hash here, SHA-256 3 µs: a 20,000-device reconnect after a restart
// cost about 15 CPU-minutes).
// Rows hashed with scrypt by earlier versions still verify, and are rehashed
// on their next good connect.
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

export type Kdf = 'sha256' | 'scrypt';

export interface SecretHash {
  kdf: Kdf;
  salt: Buffer;
  hash: Buffer;
}

/** The parameters earlier versions used; only read now. */
const LEGACY_SCRYPT = { N: 2 ** 14, r: 8, p: 1, maxmem: 64 * 2 ** 20 };
const KEY_BYTES = 32;

export function generateSecret(): string {
  return randomBytes(24).toString('base64url');
}

function sha256(secret: string, salt: Buffer): Buffer {
  return createHash('sha256').update(salt).update(secret).digest();
}

function legacyScrypt(secret: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, KEY_BYTES, LEGACY_SCRYPT, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export function hashSecret(secret: string): SecretHash {
  const salt = randomBytes(16);
  return { kdf: 'sha256', salt, hash: sha256(secret, salt) };
}

export async function verifySecret(secret: string, stored: SecretHash): Promise<boolean> {
  const candidate = stored.kdf === 'scrypt' ? await legacyScrypt(secret, stored.salt) : sha256(secret, stored.salt);
  return candidate.length === stored.hash.length && timingSafeEqual(candidate, stored.hash);
}

/** Constant-time equality for strings of any length (the length itself may leak, the content does not). */
export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}
