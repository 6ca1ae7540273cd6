// Telemetry intake: validate a publish, count the outcome, queue valid
// readings for the store. Storage latency never reaches the device: offer()
// only parses and enqueues; the batcher writes in the background, through the
// spool writer, which keeps batches on disk while the store is down.
import type { Logger } from 'pino';
import { parseTelemetry, type ParseResult, type Reading } from '../contract/telemetry.js';
import { isRetriable } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { TelemetryStore, WriteResult } from '../store/store.js';
import { Batcher, type Settled, type Timer } from './batcher.js';
import { RejectLog } from './reject-log.js';
import type { Spool } from './spool.js';
import { SpoolWriter } from './spool-writer.js';

export interface IngestOptions {
  store: TelemetryStore;
  metrics: Metrics;
  logger: Logger;
  batchSize: number;
  flushIntervalMs: number;
  maxReadingBytes: number;
  maxClockSkewMs: number;
  /** Where batches wait while the store fails; opened by the caller, closed by close(). */
  spool: Spool<Reading>;
  /** Readings in memory beyond which batches spill to the spool although the store answers. */
  maxQueued: number;
  /** First delay between failed store writes; doubles per failure up to maxRetryDelayMs, with jitter. */
  retryDelayMs: number;
  maxRetryDelayMs: number;
  now?: () => number;
  timer?: Timer;
  random?: () => number;
  /** Called after each committed batch, e.g. to wake long polls and streams of the touched series. */
  onStored?: (result: WriteResult) => void;
}

export class Ingest {
  private readonly batcher: Batcher<Reading>;
  private readonly writer: SpoolWriter;
  private readonly rejectLog: RejectLog;
  private readonly now: () => number;

  constructor(private readonly opts: IngestOptions) {
    this.now = opts.now ?? Date.now;
    const { metrics, logger } = opts;
    this.rejectLog = new RejectLog(
      (e) => logger.warn({ clientId: e.clientId, reason: e.reason, suppressed: e.suppressed }, `telemetry rejected: ${e.message}`),
      this.now,
    );
    this.writer = new SpoolWriter({
      store: opts.store,
      spool: opts.spool,
      metrics,
      logger,
      batchSize: opts.batchSize,
      maxQueued: opts.maxQueued,
      backlog: () => this.batcher.size,
      retryDelayMs: opts.retryDelayMs,
      maxRetryDelayMs: opts.maxRetryDelayMs,
      onStored: opts.onStored,
      random: opts.random,
      timer: opts.timer,
    });
    this.batcher = new Batcher<Reading>({
      batchSize: opts.batchSize,
      flushIntervalMs: opts.flushIntervalMs,
      timer: opts.timer,
      isRetriable,
      write: (batch) => this.write(batch),
      // The writer spools whatever the store does not take; this is a batch neither took (e.g. the disk failed).
      onWriteError: (err, size, attempt) => {
        logger.error({ err, batchSize: size, attempt }, 'neither the store nor the spool took a batch; it stays in memory and is retried');
      },
      onDiscard: (err, batch) => {
        metrics.readingsDropped.inc({ reason: 'store_rejected' }, batch.length);
        metrics.ingestQueueDepth.set(this.batcher.size);
        logger.error({ err, lost: batch.length }, 'store refused a batch for good; its readings are lost');
      },
    });
  }

  /**
   * Validates one publish from `clientId` and queues it when valid. The result
   * tells the broker what to do with the message (route it, or refuse it).
   * `settled` is called once the reading is in the store or the spool (or, with
   * an error, when it never will be): the moment a QoS 1 PUBACK may go out.
   */
  offer(clientId: string, topic: string, payload: Uint8Array | string, settled?: Settled): ParseResult {
    const result = parseTelemetry(topic, payload, {
      now: this.now(),
      maxBytes: this.opts.maxReadingBytes,
      maxFutureMs: this.opts.maxClockSkewMs,
      clientId,
    });
    if (result.ok) {
      this.batcher.add(result.reading, settled);
      this.opts.metrics.readingsAccepted.inc();
      this.opts.metrics.ingestQueueDepth.set(this.batcher.size);
    } else {
      this.opts.metrics.readingsRejected.inc({ reason: result.reason });
      this.rejectLog.record(clientId, result.reason, result.message);
    }
    return result;
  }

  /** Replays readings an earlier run left in the spool. */
  start(): void {
    this.writer.start();
  }

  /** Readings accepted and waiting in memory. */
  get pending(): number {
    return this.batcher.size;
  }

  /** Readings waiting in the on-disk spool; `spooling` until the spool is replayed and writes go to the store directly again. */
  get spool(): { spooling: boolean; readings: number; bytes: number } {
    return { spooling: this.writer.spooling, readings: this.opts.spool.items, bytes: this.opts.spool.bytes };
  }

  flush(): Promise<void> {
    return this.batcher.flush();
  }

  /**
   * Writes what is queued in memory to the store, or to the spool when the
   * store is down; stops replaying and closes the spool, which keeps what it
   * holds for the next start. Only when neither takes the queue within
   * `timeoutMs` does it give up and report how many readings were lost, loudly.
   */
  async close(timeoutMs = 10_000): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([this.batcher.close().then(() => 'done' as const), gaveUp]);
    clearTimeout(timer);
    let lost = 0;
    if (outcome === 'timeout') {
      lost = this.batcher.dispose();
      this.opts.metrics.readingsDropped.inc({ reason: 'shutdown' }, lost);
      this.opts.logger.error({ lost }, 'neither the store nor the spool took the queue at shutdown; unwritten readings were lost');
    }
    await this.writer.close();
    const left = this.opts.spool.items;
    if (left > 0) this.opts.logger.warn({ spooled: left }, 'readings remain in the spool; the next start replays them');
    await this.opts.spool.close();
    return lost;
  }

  private async write(batch: Reading[]): Promise<void> {
    await this.writer.write(batch);
    this.opts.metrics.ingestQueueDepth.set(this.batcher.size - batch.length);
  }
}
