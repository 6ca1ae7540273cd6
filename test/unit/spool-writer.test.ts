import fs from 'node:fs';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Reading } from '../../broker/contract/telemetry.js';
import { StoreError } from '../../broker/errors.js';
import { Spool, encodeRecord } from '../../broker/ingest/spool.js';
import { SpoolWriter, retryDelay, type SpoolWriterOptions } from '../../broker/ingest/spool-writer.js';
import { createMetrics, type Metrics } from '../../broker/metrics.js';
import type { WriteResult } from '../../broker/store/store.js';
import { waitFor } from '../helpers/clients.js';
import { makeTempDir } from '../helpers/gateway.js';

/** A store that is up or down on command and records every batch it took. */
class ScriptedStore {
  up = true;
  refuse: ((batch: readonly Reading[]) => boolean) | null = null;
  readonly batches: number[][] = [];
  /** Every batch offered, whether taken or not. */
  readonly offered: number[][] = [];

  get attempts(): number {
    return this.offered.length;
  }

  async writeBatch(batch: readonly Reading[]): Promise<WriteResult> {
    this.offered.push(batch.map((r) => r.seq!));
    await new Promise((resolve) => setImmediate(resolve));
    if (!this.up) throw new StoreError('store down', true);
    if (this.refuse?.(batch)) throw new StoreError('bad batch', false);
    this.batches.push(batch.map((r) => r.seq!));
    return { storedAt: 0, series: [] };
  }

  get seqs(): number[] {
    return this.batches.flat();
  }
}

const readings = (from: number, count: number): Reading[] =>
  Array.from({ length: count }, (_, i) => ({ deviceId: 'd', ts: 1, seq: from + i, metrics: { v: from + i }, receivedAt: 1 }));

const value = async (metrics: Metrics, name: keyof Metrics, labels?: Record<string, string>) =>
  ((await (metrics[name] as any).get()).values.find((v: any) => !labels || v.labels.reason === labels.reason)?.value ?? 0) as number;

let dir: string;
let spool: Spool<Reading>;
let writer: SpoolWriter | undefined;
let metrics: Metrics;
let store: ScriptedStore;

beforeEach(async () => {
  dir = makeTempDir('spool-writer-');
  spool = await Spool.open<Reading>({ dir, maxBytes: 1_048_576 });
  metrics = createMetrics();
  store = new ScriptedStore();
});
afterEach(async () => {
  await writer?.close();
  writer = undefined;
  await spool.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function createWriter(overrides: Partial<SpoolWriterOptions> = {}): SpoolWriter {
  writer = new SpoolWriter({
    store, spool, metrics, logger: pino({ level: 'silent' }),
    batchSize: 100, maxQueued: 1000, backlog: () => 0, retryDelayMs: 2, maxRetryDelayMs: 10, random: () => 0.5,
    ...overrides,
  });
  writer.start();
  return writer;
}

describe('retryDelay', () => {
  it('doubles per attempt up to the cap, with between half and all of it left to chance', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => retryDelay(n, 100, 1000, () => 0))).toEqual([50, 100, 200, 400, 500, 500]);
    expect([1, 2, 3, 4, 5, 6].map((n) => retryDelay(n, 100, 1000, () => 1))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(retryDelay(3, 100, 1000, () => 0.5)).toBe(300);
  });
});

describe('SpoolWriter', () => {
  it('writes straight to a working store and spools nothing', async () => {
    const w = createWriter();
    await w.write(readings(1, 3));
    await w.write(readings(4, 2));
    expect(store.batches).toEqual([[1, 2, 3], [4, 5]]);
    expect(w.spooling).toBe(false);
    expect(fs.readdirSync(dir)).toEqual([]);
    expect(await value(metrics, 'readingsSpooled')).toBe(0);
  });

  it('spools while the store is down, replays in order once it is back, and only then writes new batches directly', async () => {
    const w = createWriter();
    await w.write(readings(1, 2));
    store.up = false;
    await w.write(readings(3, 2));
    expect(w.spooling).toBe(true);
    await w.write(readings(5, 3));
    await w.write(readings(8, 1));
    expect(spool.items).toBe(6);
    await waitFor(() => store.attempts > 6, { what: 'a few retries' });

    store.up = true;
    await waitFor(() => !w.spooling, { what: 'replay' });
    await w.write(readings(9, 2));
    expect(store.seqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // The failed batch is retried alone until it is written (a lost answer must not turn into a duplicate); the rest may merge.
    const withFailed = store.offered.filter((b) => b.includes(3));
    expect(withFailed.length).toBeGreaterThan(2);
    expect(withFailed.every((b) => b.join() === '3,4')).toBe(true);
    expect(store.batches.at(-1)).toEqual([9, 10]);
    expect(await value(metrics, 'readingsSpooled')).toBe(6);
    expect(await value(metrics, 'readingsReplayed')).toBe(6);
    expect(await value(metrics, 'readingsRetried')).toBeGreaterThanOrEqual(2 + 6);
    expect(await value(metrics, 'spoolReadings')).toBe(0);
  });

  it('waits longer after each failure, with jitter', async () => {
    const delays: number[] = [];
    const timer = {
      setTimeout: (fn: () => void, ms: number) => {
        delays.push(ms);
        return setTimeout(fn, 1);
      },
      clearTimeout: (handle: unknown) => clearTimeout(handle as NodeJS.Timeout),
    };
    const w = createWriter({ timer, retryDelayMs: 100, maxRetryDelayMs: 800, random: () => 0.5 });
    store.up = false;
    await w.write(readings(1, 1));
    await waitFor(() => delays.length >= 6, { what: 'six retry delays' });
    expect(delays.slice(0, 6)).toEqual([75, 150, 300, 600, 600, 600]);
  });

  it('keeps the spool when closed during an outage, and a new writer replays it at start', async () => {
    const w = createWriter({ retryDelayMs: 60_000, maxRetryDelayMs: 60_000 });
    store.up = false;
    await w.write(readings(1, 3));
    await w.write(readings(4, 2));
    const started = Date.now();
    await w.close();
    expect(Date.now() - started).toBeLessThan(1000);
    await spool.close();

    spool = await Spool.open<Reading>({ dir, maxBytes: 1_048_576 });
    expect(spool.items).toBe(5);
    store.up = true;
    const again = createWriter();
    await waitFor(() => !again.spooling, { what: 'replay at start' });
    // Small spooled batches are merged into one store write (up to batchSize).
    expect(store.batches).toEqual([[1, 2, 3, 4, 5]]);
  });

  it('spills to the spool when the in-memory backlog passes maxQueued, though the store answers', async () => {
    let backlog = 0;
    const w = createWriter({ maxQueued: 10, backlog: () => backlog });
    backlog = 11;
    await w.write(readings(1, 2));
    expect(await value(metrics, 'readingsSpooled')).toBe(2);
    backlog = 0;
    await waitFor(() => !w.spooling, { what: 'replay' });
    await w.write(readings(3, 1));
    expect(store.batches).toEqual([[1, 2], [3]]);
  });

  it('drops only past the spool size, counting and logging it, and goes on with what fits', async () => {
    await spool.close();
    spool = await Spool.open<Reading>({ dir, maxBytes: encodeRecord(readings(1, 100)).length + encodeRecord(readings(101, 100)).length + 10 });
    const lines: string[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => void lines.push(line) });
    const w = createWriter({ logger, retryDelayMs: 60_000, maxRetryDelayMs: 60_000 });
    store.up = false;
    await w.write(readings(1, 100));
    await w.write(readings(101, 100));
    await w.write(readings(201, 100));
    expect(spool.items).toBe(200);
    expect(await value(metrics, 'readingsDropped', { reason: 'spool_full' })).toBe(100);
    expect(lines.some((l) => l.includes('SPOOL FULL'))).toBe(true);
  });

  it('passes on a batch the store refuses for good (direct), and drops a refused spooled batch but replays the rest', async () => {
    const w = createWriter();
    store.refuse = (batch) => batch.some((r) => r.seq === 2);
    await expect(w.write(readings(1, 2))).rejects.toMatchObject({ retriable: false });

    store.up = false;
    await w.write(readings(2, 1));
    await w.write(readings(3, 1));
    // Merged they would share the refusal; with batchSize 1 each spooled record goes alone.
    await w.close();
    writer = undefined;
    store.up = true;
    const again = createWriter({ batchSize: 1 });
    await waitFor(() => !again.spooling, { what: 'replay' });
    expect(store.seqs).toEqual([3]);
    expect(await value(metrics, 'readingsDropped', { reason: 'store_rejected' })).toBe(1);
  });
});
