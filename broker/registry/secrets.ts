// Device secrets: random, shown once, stored only as a salted scrypt hash and
// compared in constant time. scrypt's cost makes a stolen registry file
// expensive to brute-force; the verified-secret cache in registry.ts keeps
// that cost off reconnect storms.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** OWASP's scrypt minimum (N=2^17 is the recommendation for passwords; device secrets are random, 192 bits). */
export const SCRYPT: Readonly<ScryptOptions & { keyLength: number }> = Object.freeze({ N: 2 ** 14, r: 8, p: 1, keyLength: 32, maxmem: 64 * 2 ** 20 });

export interface SecretHash {
  salt: Buffer;
  hash: Buffer;
}

export function generateSecret(): string {
  return randomBytes(24).toString('base64url');
}

function derive(secret: string, salt: Buffer): Promise<Buffer> {
  const { keyLength, ...options } = SCRYPT;
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export async function hashSecret(secret: string): Promise<SecretHash> {
  const salt = randomBytes(16);
  return { salt, hash: await derive(secret, salt) };
}

export async function verifySecret(secret: string, stored: SecretHash): Promise<boolean> {
  const candidate = await derive(secret, stored.salt);
  return candidate.length === stored.hash.length && timingSafeEqual(candidate, stored.hash);
}

/** Constant-time equality for strings of any length (the length itself may leak, the content does not). */
export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}
