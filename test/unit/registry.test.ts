import { afterEach, describe, expect, it } from 'vitest';
import { DeviceRegistry } from '../../broker/registry/registry.js';
import { TokenIssuer } from '../../broker/registry/tokens.js';
import { safeEqual } from '../../broker/registry/secrets.js';
import Database from 'better-sqlite3';
import { randomBytes, scryptSync } from 'node:crypto';
import path from 'node:path';
import { makeTempDir } from '../helpers/gateway.js';

let registry: DeviceRegistry | undefined;
afterEach(() => registry?.close());

describe('DeviceRegistry', () => {
  it('creates a device whose secret verifies, and stores only a salted hash', async () => {
    const file = path.join(makeTempDir(), 'registry.db');
    registry = new DeviceRegistry(file);
    const { id, secret } = await registry.create('dev-1');
    expect(id).toBe('dev-1');
    expect(secret).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(await registry.verify('dev-1', secret)).toBe(true);
    expect(await registry.verify('dev-1', secret + 'x')).toBe(false);
    expect(await registry.verify('dev-2', secret)).toBe(false);

    const raw = new Database(file, { readonly: true });
    const dump = JSON.stringify(raw.prepare('SELECT * FROM devices').all());
    raw.close();
    expect(dump).not.toContain(secret);
  });

  it('gives two devices with one secret text different hashes (salted)', async () => {
    registry = new DeviceRegistry(':memory:');
    await registry.create('a');
    await registry.create('b');
    const rows = (registry as unknown as { db: Database.Database }).db.prepare('SELECT hash FROM devices').all() as Array<{ hash: Buffer }>;
    expect(rows[0]!.hash.equals(rows[1]!.hash)).toBe(false);
  });

  it('verifies a scrypt row written by an earlier version, then rehashes it with SHA-256', async () => {
    const file = path.join(makeTempDir(), 'registry.db');
    const old = new Database(file);
    old.exec(`CREATE TABLE devices (id TEXT PRIMARY KEY, salt BLOB NOT NULL, hash BLOB NOT NULL,
      created_at INTEGER NOT NULL, rotated_at INTEGER, revoked_at INTEGER) WITHOUT ROWID`);
    const salt = randomBytes(16);
    const hash = scryptSync('old-secret', salt, 32, { N: 2 ** 14, r: 8, p: 1, maxmem: 64 * 2 ** 20 });
    old.prepare('INSERT INTO devices (id, salt, hash, created_at) VALUES (?, ?, ?, ?)').run('legacy', salt, hash, 1);
    old.close();

    registry = new DeviceRegistry(file);
    expect(await registry.verify('legacy', 'wrong')).toBe(false);
    expect(await registry.verify('legacy', 'old-secret')).toBe(true);
    const kdf = () => (registry as unknown as { db: Database.Database }).db.prepare('SELECT kdf FROM devices').pluck().get();
    expect(kdf()).toBe('sha256');
    expect(await registry.verify('legacy', 'old-secret')).toBe(true);
    expect(await registry.verify('legacy', 'wrong')).toBe(false);
    expect(registry.get('legacy')).toMatchObject({ createdAt: 1, rotatedAt: null, revokedAt: null });
  });

  it('refuses duplicates and bad ids with coded errors', async () => {
    registry = new DeviceRegistry(':memory:');
    await registry.create('dev-1');
    await expect(registry.create('dev-1')).rejects.toMatchObject({ code: 'device_exists', status: 409 });
    await expect(registry.create('bad/id')).rejects.toMatchObject({ code: 'bad_device_id', status: 400 });
    await expect(registry.rotate('nobody')).rejects.toMatchObject({ code: 'unknown_device', status: 404 });
  });

  it('rotation invalidates the old secret at once, even after it verified', async () => {
    registry = new DeviceRegistry(':memory:');
    const first = await registry.create('dev-1');
    expect(await registry.verify('dev-1', first.secret)).toBe(true);
    const second = await registry.rotate('dev-1');
    expect(await registry.verify('dev-1', first.secret)).toBe(false);
    expect(await registry.verify('dev-1', second.secret)).toBe(true);
  });

  it('revocation refuses the current secret; provisioning a revoked device restores it with a new one', async () => {
    registry = new DeviceRegistry(':memory:');
    const { secret } = await registry.create('dev-1');
    expect(await registry.verify('dev-1', secret)).toBe(true);
    expect(registry.revoke('dev-1').revokedAt).toEqual(expect.any(Number));
    expect(await registry.verify('dev-1', secret)).toBe(false);
    const again = await registry.provision('dev-1');
    expect(await registry.verify('dev-1', again.secret)).toBe(true);
    expect(registry.list().map((d) => [d.id, d.revokedAt])).toEqual([['dev-1', null]]);
  });
});

describe('TokenIssuer', () => {
  it('verifies its own unexpired tokens only', () => {
    const t = { now: 1_000 };
    const issuer = new TokenIssuer(60_000, undefined, () => t.now);
    const { token, expiresAt } = issuer.issue();
    expect(expiresAt).toBe(61_000);
    expect(issuer.verify(token)).toEqual(expect.any(String));
    expect(issuer.verify(token.slice(0, -2) + (token.endsWith('A') ? 'BB' : 'AA'))).toBeNull();
    expect(new TokenIssuer(60_000, undefined, () => t.now).verify(token)).toBeNull();
    expect(issuer.verify('garbage')).toBeNull();
    expect(issuer.verify('.')).toBeNull();
    t.now = 61_000;
    expect(issuer.verify(token)).toBeNull();
  });

  it('shares tokens between issuers with the same secret (a cluster)', () => {
    const a = new TokenIssuer(60_000, 'shared-secret');
    const b = new TokenIssuer(60_000, 'shared-secret');
    expect(b.verify(a.issue().token)).toEqual(expect.any(String));
  });

  it('compares in constant time, whatever the lengths', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'abcd')).toBe(false);
  });
});
