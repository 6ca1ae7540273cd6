// Wakes HTTP waiters (long polls, SSE streams) when the store commits points
// of their series: one notification per commit reaches every waiter of that
// series, so no client queries the database in a loop.

type Listener = () => void;

function key(deviceId: string, metric: string): string {
  return `${deviceId}\u0000${metric}`;
}

export interface Waiter {
  /** Resolves true when the series got new points, false when cancelled. */
  readonly promise: Promise<boolean>;
  cancel(): void;
}

export class SeriesNotifier {
  private readonly listeners = new Map<string, Set<Listener>>();

  /** Called after each committed batch with the series it touched. */
  notify(series: ReadonlyArray<{ deviceId: string; metric: string }>): void {
    for (const s of series) {
      const set = this.listeners.get(key(s.deviceId, s.metric));
      if (set) for (const listener of [...set]) listener();
    }
  }

  /** Calls `listener` after every commit touching the series until the returned function is called. */
  subscribe(deviceId: string, metric: string, listener: Listener): () => void {
    const k = key(deviceId, metric);
    let set = this.listeners.get(k);
    if (!set) this.listeners.set(k, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(k) === set) this.listeners.delete(k);
    };
  }

  /**
   * A one-shot wait for the next commit of a series. Register it before
   * reading the store, so a commit between the read and the wait is not missed.
   */
  waiter(deviceId: string, metric: string, timeoutMs: number): Waiter {
    let settle!: (woken: boolean) => void;
    const promise = new Promise<boolean>((resolve) => (settle = resolve));
    const timer = setTimeout(() => done(false), timeoutMs);
    const unsubscribe = this.subscribe(deviceId, metric, () => done(true));
    function done(woken: boolean): void {
      clearTimeout(timer);
      unsubscribe();
      settle(woken);
    }
    return { promise, cancel: () => done(false) };
  }

  /** Series with at least one waiter; for metrics and tests. */
  get watchedSeries(): number {
    return this.listeners.size;
  }
}
