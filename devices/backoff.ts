// Reconnect delays: exponential backoff with full jitter, after AWS's
// "Exponential Backoff And Jitter" (2015). Full jitter spreads a fleet that lost
// the gateway at the same instant over the whole window, instead of bringing it
// back in synchronised waves the way a fixed reconnectPeriod does.
import type { Rng } from './rng.js';

export interface BackoffOptions {
  /** Window of the first retry, ms. */
  baseMs: number;
  /** Largest window, ms: the bound on how long a device waits once the gateway is back. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({ baseMs: 1_000, maxMs: 30_000 });

/** Upper end of the window for retry number `attempt` (0-based): base·2^attempt, capped. */
export function backoffWindow(attempt: number, { baseMs, maxMs }: BackoffOptions): number {
  // 2^31 already exceeds any sane cap; stopping there keeps the product finite.
  return Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 31));
}

/** Full jitter: a uniform delay in [0, window). */
export function backoffDelay(attempt: number, rng: Rng, options: BackoffOptions = DEFAULT_BACKOFF): number {
  return Math.floor(rng() * backoffWindow(attempt, options));
}

/** The retry counter of one device: `next()` per failed attempt, `reset()` once connected. */
export class Backoff {
  #attempt = 0;

  constructor(
    private readonly rng: Rng,
    private readonly options: BackoffOptions = DEFAULT_BACKOFF,
  ) {}

  get attempt(): number {
    return this.#attempt;
  }

  next(): number {
    return backoffDelay(this.#attempt++, this.rng, this.options);
  }

  reset(): void {
    this.#attempt = 0;
  }
}
