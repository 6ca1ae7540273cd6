// A size/interval batcher in front of a slow sink (STYLE.md §7, after
// influxdb-client-js WriteApi): items are grouped into batches, written one
// batch at a time in arrival order, and a failed write is retried with capped
// exponential backoff instead of being dropped.

export interface Timer {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimer: Timer = {
  setTimeout: (fn, ms) => {
    const handle = setTimeout(fn, ms);
    handle.unref?.();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** A wait on an injected timer that its owner can cut short (flush, dispose, close). */
export class Sleeper {
  private wake: (() => void) | null = null;

  constructor(private readonly timer: Timer) {}

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const handle = this.timer.setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        this.timer.clearTimeout(handle);
        this.wake = null;
        resolve();
      };
    });
  }

  /** Ends the current wait now, if there is one. */
  interrupt(): void {
    this.wake?.();
  }
}

export interface BatcherOptions<T> {
  /** Writes one batch; a rejection means the whole batch is retried later. */
  write: (batch: T[]) => Promise<void>;
  batchSize: number;
  flushIntervalMs: number;
  /** Delay before the first retry; doubles per failure up to maxRetryDelayMs. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** False for errors no retry can fix; such a batch is handed to onDiscard. */
  isRetriable?: (err: unknown) => boolean;
  onWriteError?: (err: unknown, batchSize: number, attempt: number) => void;
  onDiscard?: (err: unknown, batch: T[]) => void;
  timer?: Timer;
}

/**
 * While writes fall behind, a batch takes up to this many batches' worth of
 * what is waiting. One batch is written at a time, and the next starts only
 * when the event loop takes the answer: on a 10,000-device fleet whose event
 * loop turns took up to a second, fixed batches of 500 cut the SQLite store to
 * ~2,000 readings/s while the queue grew past 200,000 (bench/fleet-scale.ts).
 * 10 × INGEST_BATCH_SIZE's default 500 is InfluxDB's recommended 5,000 lines.
 */
export const CATCH_UP_FACTOR = 10;

/** Called once an item is written (no error), or when it never will be (its batch was refused for good). */
export type Settled = (err?: unknown) => void;

/**
 * Settle callbacks answered per turn of the event loop. Each QoS 1 reading's
 * answer releases its PUBACK, a write system call of its own: a batch of 500
 * answered at once was 500 writes in one turn, and every message that arrived
 * meanwhile waited to be routed (the fixed-rate p99 about halved when
 * answered in shares; README "Performance").
 */
const SETTLE_CHUNK = 64;

function settleAll(settles: ReadonlyArray<Settled | undefined>, err?: unknown): void {
  let i = 0;
  const chunk = () => {
    for (const end = Math.min(settles.length, i + SETTLE_CHUNK); i < end; i++) settles[i]?.(err);
    if (i < settles.length) setImmediate(chunk);
  };
  chunk();
}

export class Batcher<T> {
  private pending: T[] = [];
  /** Completion callbacks by position in `pending`; most items (QoS 0) have none. */
  private settles: Array<Settled | undefined> = [];
  private inFlight: T[] | null = null;
  private inFlightSettles: Array<Settled | undefined> = [];
  private running: Promise<void> | null = null;
  private timerHandle: unknown = null;
  private closed = false;
  private attempt = 0;
  private readonly sleeper: Sleeper;
  private readonly timer: Timer;

  constructor(private readonly opts: BatcherOptions<T>) {
    this.timer = opts.timer ?? realTimer;
    this.sleeper = new Sleeper(this.timer);
  }

  /** Items accepted but not yet written. */
  get size(): number {
    return this.pending.length + (this.inFlight?.length ?? 0);
  }

  add(item: T, settled?: Settled): void {
    if (this.closed) throw new Error('batcher is closed');
    this.pending.push(item);
    this.settles.push(settled);
    if (this.pending.length >= this.opts.batchSize) this.kick();
    else if (this.timerHandle === null && this.running === null) {
      this.timerHandle = this.timer.setTimeout(() => {
        this.timerHandle = null;
        this.kick();
      }, this.opts.flushIntervalMs);
    }
  }

  /** Writes everything accepted so far; resolves when it is written. */
  async flush(): Promise<void> {
    while (this.size > 0) {
      this.kick();
      this.sleeper.interrupt();
      await this.running;
    }
  }

  /** Stops accepting items and writes what is left. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  /** Gives up on whatever is unwritten (the store is gone); returns how many items were lost. */
  dispose(): number {
    this.closed = true;
    const lost = this.size;
    this.pending = [];
    this.settles = [];
    this.inFlight = null;
    this.inFlightSettles = [];
    this.clearTimer();
    this.sleeper.interrupt();
    return lost;
  }

  private clearTimer(): void {
    if (this.timerHandle !== null) this.timer.clearTimeout(this.timerHandle);
    this.timerHandle = null;
  }

  private kick(): void {
    this.clearTimer();
    if (this.running === null) {
      this.running = this.drain().finally(() => {
        this.running = null;
      });
    }
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0 || this.inFlight) {
      if (!this.inFlight) {
        const take = this.opts.batchSize * CATCH_UP_FACTOR;
        if (this.pending.length <= take) {
          // All of it: hand the arrays over instead of splicing (a copy of every element).
          [this.inFlight, this.inFlightSettles] = [this.pending, this.settles];
          [this.pending, this.settles] = [[], []];
        } else {
          this.inFlight = this.pending.splice(0, take);
          this.inFlightSettles = this.settles.splice(0, take);
        }
      }
      const batch = this.inFlight;
      const settles = this.inFlightSettles;
      try {
        await this.opts.write(batch);
        this.attempt = 0;
        if (this.inFlight === batch) this.inFlight = null;
        settleAll(settles);
      } catch (err) {
        this.attempt += 1;
        if (this.inFlight !== batch) return;
        if (this.opts.isRetriable && !this.opts.isRetriable(err)) {
          this.inFlight = null;
          this.opts.onDiscard?.(err, batch);
          settleAll(settles, err);
          continue;
        }
        this.opts.onWriteError?.(err, batch.length, this.attempt);
        await this.sleeper.sleep(this.retryDelay());
      }
    }
  }

  private retryDelay(): number {
    const base = this.opts.retryDelayMs ?? 100;
    const cap = this.opts.maxRetryDelayMs ?? 5_000;
    return Math.min(cap, base * 2 ** Math.min(this.attempt - 1, 20));
  }

}
