// Between the batcher and the store: writes a batch to the store, or, when the
// store fails (or cannot keep up), to the on-disk spool; then replays the spool
// in order, with exponential backoff and jitter between failed attempts, and
// writes new batches directly again only once the spool is empty. One store
// write is in flight at a time, so batches reach the store in the order they
// were accepted (the InfluxDB store's cursor depends on it).
import type { Logger } from 'pino';
import type { Reading } from '../contract/telemetry.js';
import { isRetriable } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { TelemetryStore, WriteResult } from '../store/store.js';
import { realTimer, Sleeper, type Timer } from './batcher.js';
import { SpoolFullError, type Spool } from './spool.js';

export interface SpoolWriterOptions {
  store: Pick<TelemetryStore, 'writeBatch'>;
  spool: Spool<Reading>;
  metrics: Metrics;
  logger: Logger;
  /** Most readings per store write when replaying: small spooled batches are merged, so a replay outpaces new input. */
  batchSize: number;
  /** Readings waiting in memory beyond which batches go to the spool although the store answers: it is not keeping up. */
  maxQueued: number;
  /** Readings waiting in memory (the batcher's queue). */
  backlog: () => number;
  retryDelayMs: number;
  maxRetryDelayMs: number;
  onStored?: (result: WriteResult) => void;
  random?: () => number;
  timer?: Timer;
}

/**
 * "Equal jitter": half the exponential delay, plus up to the other half at
 * random, so a fleet of gateways does not retry in step, and no retry comes
 * sooner than half the nominal delay.
 */
export function retryDelay(attempt: number, baseMs: number, capMs: number, random: () => number): number {
  const nominal = Math.min(capMs, baseMs * 2 ** Math.min(attempt - 1, 30));
  return nominal / 2 + random() * (nominal / 2);
}

export class SpoolWriter {
  private replayer: Promise<void> | null = null;
  private appending = 0;
  private stopped = false;
  private readonly sleeper: Sleeper;
  private readonly timer: Timer;

  constructor(private readonly opts: SpoolWriterOptions) {
    this.timer = opts.timer ?? realTimer;
    this.sleeper = new Sleeper(this.timer);
  }

  /** True while readings wait in the spool (or are on their way into it). */
  get spooling(): boolean {
    return this.replayer !== null || this.appending > 0 || !this.opts.spool.empty;
  }

  /** Replays what an earlier run left in the spool. */
  start(): void {
    this.updateGauges();
    if (!this.opts.spool.empty) {
      this.opts.logger.warn({ readings: this.opts.spool.items }, 'replaying readings spooled before the last stop');
      this.ensureReplay(false);
    }
  }

  /** Resolves once the batch is in the store or in the spool. Rejects only when neither can take it (e.g. a disk error), or for a batch the store refuses for good. */
  async write(batch: Reading[]): Promise<void> {
    if (!this.spooling) {
      if (this.opts.backlog() <= this.opts.maxQueued) {
        try {
          await this.commit(batch, false);
          return;
        } catch (err) {
          if (!isRetriable(err)) throw err;
          this.failed(batch.length);
          this.opts.logger.error({ err, readings: batch.length }, 'store write failed; spooling to disk until it recovers');
          await this.toSpool(batch, true);
          return;
        }
      }
      this.opts.logger.warn({ queued: this.opts.backlog(), maxQueued: this.opts.maxQueued }, 'store is not keeping up; spilling to the spool');
    }
    await this.toSpool(batch, false);
  }

  /** Stops replaying after the write in flight; what is left stays in the spool for the next start. */
  async close(): Promise<void> {
    this.stopped = true;
    this.sleeper.interrupt();
    await this.replayer;
  }

  private async commit(batch: Reading[], replayed: boolean): Promise<void> {
    const { metrics } = this.opts;
    const endTimer = metrics.batchWriteSeconds.startTimer();
    const result = await this.opts.store.writeBatch(batch);
    endTimer();
    metrics.readingsStored.inc(batch.length);
    if (replayed) metrics.readingsReplayed.inc(batch.length);
    this.opts.onStored?.(result);
  }

  /** Counts a failed store write whose readings will be written again. */
  private failed(readings: number): void {
    this.opts.metrics.storeWriteErrors.inc();
    this.opts.metrics.readingsRetried.inc(readings);
  }

  private async toSpool(batch: Reading[], afterFailure: boolean): Promise<void> {
    const { metrics, logger, spool } = this.opts;
    this.appending += 1;
    try {
      await spool.append(batch);
      metrics.readingsSpooled.inc(batch.length);
    } catch (err) {
      if (!(err instanceof SpoolFullError)) throw err;
      metrics.readingsDropped.inc({ reason: 'spool_full' }, batch.length);
      logger.error({ err, lost: batch.length, spoolBytes: spool.bytes }, 'SPOOL FULL: accepted readings were dropped (raise SPOOL_MAX_BYTES or bring the store back)');
    } finally {
      this.appending -= 1;
      this.updateGauges();
    }
    this.ensureReplay(afterFailure);
  }

  private ensureReplay(afterFailure: boolean): void {
    if (this.replayer || this.stopped || this.opts.spool.empty) return;
    this.replayer = this.replay(afterFailure ? 1 : 0)
      .catch((err: unknown) => this.opts.logger.error({ err }, 'spool replay stopped; it resumes with the next batch'))
      .finally(() => {
        this.replayer = null;
      });
  }

  private async replay(failures: number): Promise<void> {
    const { spool, logger } = this.opts;
    let attempt = failures;
    let replayed = 0;
    // A retry sends exactly the batch that failed, never a merge of it with
    // later ones: the failed write may have been applied, and only the same
    // batch is recognised and written over instead of twice (InfluxStore rule
    // 3). So after a direct write failed, its record goes alone; and records
    // being replayed stay the same until they are written.
    let limit = failures > 0 ? 1 : this.opts.batchSize;
    let pending: { items: Reading[]; records: number } | null = null;
    while (!this.stopped) {
      if (attempt > 0) {
        await this.sleeper.sleep(retryDelay(attempt, this.opts.retryDelayMs, this.opts.maxRetryDelayMs, this.opts.random ?? Math.random));
        if (this.stopped) break;
      }
      pending ??= await spool.peek(limit);
      if (!pending) break;
      try {
        await this.commit(pending.items, true);
      } catch (err) {
        if (isRetriable(err)) {
          attempt += 1;
          this.failed(pending.items.length);
          logger.warn({ error: (err as Error).message, readings: spool.items, attempt }, 'store still failing; the spool keeps the readings');
          continue;
        }
        this.opts.metrics.readingsDropped.inc({ reason: 'store_rejected' }, pending.items.length);
        logger.error({ err, lost: pending.items.length }, 'store refused spooled readings for good; they are dropped');
      }
      await spool.shift(pending.records);
      replayed += pending.items.length;
      pending = null;
      attempt = 0;
      limit = this.opts.batchSize;
      this.updateGauges();
    }
    if (spool.empty && replayed > 0) logger.info({ replayed }, 'spool replayed; writing to the store directly again');
  }

  private updateGauges(): void {
    this.opts.metrics.spoolReadings.set(this.opts.spool.items);
    this.opts.metrics.spoolBytes.set(this.opts.spool.bytes);
  }

}
