// Telemetry intake: validate a publish, count the outcome, queue valid
// readings for the store. Storage latency never reaches the device: offer()
// only parses and enqueues; the batcher writes in the background.
import type { Logger } from 'pino';
import { parseTelemetry, type ParseResult, type Reading } from '../contract/telemetry.js';
import { isRetriable } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { TelemetryStore, WriteResult } from '../store/store.js';
import { Batcher, type Timer } from './batcher.js';
import { RejectLog } from './reject-log.js';

export interface IngestOptions {
  store: TelemetryStore;
  metrics: Metrics;
  logger: Logger;
  batchSize: number;
  flushIntervalMs: number;
  maxReadingBytes: number;
  maxClockSkewMs: number;
  now?: () => number;
  timer?: Timer;
  /** Called after each committed batch, e.g. to wake long polls and streams of the touched series. */
  onStored?: (result: WriteResult) => void;
}

export class Ingest {
  private readonly batcher: Batcher<Reading>;
  private readonly rejectLog: RejectLog;
  private readonly now: () => number;

  constructor(private readonly opts: IngestOptions) {
    this.now = opts.now ?? Date.now;
    const { metrics, logger } = opts;
    this.rejectLog = new RejectLog(
      (e) => logger.warn({ clientId: e.clientId, reason: e.reason, suppressed: e.suppressed }, `telemetry rejected: ${e.message}`),
      this.now,
    );
    this.batcher = new Batcher<Reading>({
      batchSize: opts.batchSize,
      flushIntervalMs: opts.flushIntervalMs,
      timer: opts.timer,
      isRetriable,
      write: (batch) => this.write(batch),
      onWriteError: (err, size, attempt) => {
        metrics.storeWriteErrors.inc();
        logger.error({ err, batchSize: size, attempt }, 'store write failed; retrying');
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
   */
  offer(clientId: string, topic: string, payload: Uint8Array | string): ParseResult {
    const result = parseTelemetry(topic, payload, {
      now: this.now(),
      maxBytes: this.opts.maxReadingBytes,
      maxFutureMs: this.opts.maxClockSkewMs,
      clientId,
    });
    if (result.ok) {
      this.batcher.add(result.reading);
      this.opts.metrics.readingsAccepted.inc();
      this.opts.metrics.ingestQueueDepth.set(this.batcher.size);
    } else {
      this.opts.metrics.readingsRejected.inc({ reason: result.reason });
      this.rejectLog.record(clientId, result.reason, result.message);
    }
    return result;
  }

  /** Readings accepted and not yet committed. */
  get pending(): number {
    return this.batcher.size;
  }

  flush(): Promise<void> {
    return this.batcher.flush();
  }

  /**
   * Writes what is queued. When the store stays down past `timeoutMs`, gives
   * up and reports how many readings were lost, loudly.
   */
  async close(timeoutMs = 10_000): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([this.batcher.close().then(() => 'done' as const), gaveUp]);
    clearTimeout(timer);
    if (outcome === 'done') return 0;
    const lost = this.batcher.dispose();
    this.opts.metrics.readingsDropped.inc({ reason: 'shutdown' }, lost);
    this.opts.logger.error({ lost }, 'store unavailable at shutdown; unwritten readings were lost');
    return lost;
  }

  private async write(batch: Reading[]): Promise<void> {
    const { metrics } = this.opts;
    const endTimer = metrics.batchWriteSeconds.startTimer();
    const result = await this.opts.store.writeBatch(batch);
    endTimer();
    metrics.readingsStored.inc(batch.length);
    metrics.ingestQueueDepth.set(this.batcher.size - batch.length);
    this.opts.onStored?.(result);
  }
}
