// Each device is registered through the admin API once per suite run, not
// once per gateway start: every run starts a fresh gateway in a fresh
// DATA_DIR, and registering 19,000 devices again for each would cost minutes
// of wall time (one SQLite commit each) that no figure includes. After a
// gateway that gained devices stops, its registry file is kept; the next
// gateway starts with a copy, and only devices it has never seen are
// registered through its admin API.
import fs from 'node:fs';
import path from 'node:path';
import type { Account } from './loadgen/protocol.js';
import type { Reaper } from './processes.js';

/** The registry (DATA_DIR/registry.db) and its write-ahead log, should a gateway have been killed before checkpointing. */
const FILES = ['registry.db', 'registry.db-wal'];

export class RegistryCache {
  private dir: string | null = null;
  private readonly secrets = new Map<string, string>();
  private gained = false;

  constructor(private readonly reaper: Reaper) {}

  /** Before a gateway starts: its data directory gets the registry of the runs before. */
  restore(dataDir: string): void {
    if (this.dir === null) return;
    for (const file of FILES) {
      const kept = path.join(this.dir, file);
      if (fs.existsSync(kept)) fs.copyFileSync(kept, path.join(dataDir, file));
    }
  }

  missing(ids: readonly string[]): string[] {
    return ids.filter((id) => !this.secrets.has(id));
  }

  add(id: string, secret: string): void {
    this.secrets.set(id, secret);
    this.gained = true;
  }

  account(id: string): Account {
    return { clientId: id, username: id, password: this.secrets.get(id)! };
  }

  /** After a gateway stopped: keeps its registry for the next start, when it gained devices. */
  save(dataDir: string): void {
    if (!this.gained) return;
    this.dir ??= this.reaper.tempDir('bench-suite-registry-');
    for (const file of FILES) {
      const kept = path.join(this.dir, file);
      const current = path.join(dataDir, file);
      fs.rmSync(kept, { force: true });
      if (fs.existsSync(current)) fs.copyFileSync(current, kept);
    }
    this.gained = false;
  }
}
