// Rate limiters for the broker's and the API's guards. Pure apart from the injected clock,
// so their arithmetic is unit-tested without sockets or timers.

/** Classic token bucket: `rate` tokens per second, holding at most `burst`. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(private readonly rate: number, private readonly burst: number, private readonly now: () => number) {
    this.tokens = burst;
    this.last = now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.rate);
    this.last = t;
  }

  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until one token is available (0 when one is). */
  waitMs(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.rate) * 1000);
  }
}

/**
 * One bucket per key (client id), forgetting the oldest keys past `maxKeys`
 * so that a flood of random ids cannot grow memory without bound.
 */
export class KeyedBuckets {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly now: () => number,
    private readonly maxKeys = 100_000,
  ) {}

  take(key: string): boolean {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
      bucket = new TokenBucket(this.rate, this.burst, this.now);
      this.buckets.set(key, bucket);
    }
    return bucket.take();
  }
}

export interface FlapOptions {
  /** Connects within `windowMs` that count as flapping. */
  maxConnects: number;
  windowMs: number;
  banMs: number;
}

/** A client that reconnects too often is banned for a while (as EMQX's flapping detection). */
export class FlapDetector {
  private readonly history = new Map<string, number[]>();
  private readonly bannedUntil = new Map<string, number>();

  constructor(private readonly opts: FlapOptions, private readonly now: () => number, private readonly maxKeys = 100_000) {}

  /** Milliseconds left on a ban, 0 when not banned. */
  banned(clientId: string): number {
    const until = this.bannedUntil.get(clientId);
    if (until === undefined) return 0;
    const left = until - this.now();
    if (left > 0) return left;
    this.bannedUntil.delete(clientId);
    return 0;
  }

  /** Records a connect attempt; true when it makes the client a flapper (now banned). */
  record(clientId: string): boolean {
    const t = this.now();
    const recent = (this.history.get(clientId) ?? []).filter((at) => t - at < this.opts.windowMs);
    recent.push(t);
    if (!this.history.has(clientId) && this.history.size >= this.maxKeys) this.history.delete(this.history.keys().next().value!);
    this.history.set(clientId, recent);
    if (recent.length <= this.opts.maxConnects) return false;
    this.history.delete(clientId);
    this.bannedUntil.set(clientId, t + this.opts.banMs);
    return true;
  }
}
