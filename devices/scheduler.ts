// One shared scheduler for a whole fleet (issue #4, item 6): ten thousand
// devices each wanting a wake-up every second would be ten thousand native
// timers; here they are entries in a binary heap served by a single timer.
// The simulator sees only the `Timer` interface below.

export type TimerHandle = { readonly at: number };

/** The clock and timer a simulator is given (STYLE.md §4: injected). */
export interface Timer {
  now(): number;
  /**
   * `reuse`: a handle of the caller's that has fired; the timer may re-arm it
   * instead of allocating. A periodic caller's handle then lives for the whole
   * run instead of being promoted to the old generation and collected every period.
   */
  set(fn: () => void, delayMs: number, reuse?: TimerHandle): TimerHandle;
  clear(handle: TimerHandle): void;
}

interface Entry extends TimerHandle {
  at: number;
  order: number;
  fn: (() => void) | null;
  /** In the heap: a cancelled entry stays there until its time, so it cannot be re-armed before. */
  queued: boolean;
}

export interface SchedulerOptions {
  /**
   * Wake-ups are rounded up to a multiple of this, so a busy fleet costs at
   * most 1000/tickMs native timer callbacks per second however many devices it has.
   */
  tickMs?: number;
  now?: () => number;
}

export class Scheduler implements Timer {
  readonly #heap: Entry[] = [];
  readonly #tickMs: number;
  readonly now: () => number;
  #order = 0;
  #armedAt = Infinity;
  #native: NodeJS.Timeout | null = null;
  #running = false;

  constructor({ tickMs = 5, now = () => Date.now() }: SchedulerOptions = {}) {
    this.#tickMs = tickMs;
    this.now = now;
  }

  /** Entries waiting, cancelled ones included until they surface. */
  get size(): number {
    return this.#heap.length;
  }

  set(fn: () => void, delayMs: number, reuse?: TimerHandle): TimerHandle {
    const at = this.now() + Math.max(0, delayMs);
    let entry = reuse as Entry | undefined;
    if (entry && !entry.queued) {
      entry.at = at;
      entry.order = this.#order++;
      entry.fn = fn;
    } else {
      entry = { at, order: this.#order++, fn, queued: false };
    }
    this.#push(entry);
    // Callbacks reschedule themselves by the thousand in one pass; arm once, after it.
    if (!this.#running) this.#arm();
    return entry;
  }

  /** Cancelling only forgets the callback; the entry leaves the heap when its time comes. */
  clear(handle: TimerHandle): void {
    (handle as Entry).fn = null;
  }

  /** Forgets everything and releases the native timer. */
  close(): void {
    for (const entry of this.#heap) {
      entry.fn = null;
      entry.queued = false;
    }
    this.#heap.length = 0;
    this.#disarm();
  }

  #run(): void {
    this.#native = null;
    this.#armedAt = Infinity;
    const now = this.now();
    // Entries added by callbacks in this pass wait for the next one, even when
    // already due, so a zero delay cannot spin the loop without yielding to I/O.
    const limit = this.#order;
    this.#running = true;
    try {
      while (this.#heap.length > 0 && this.#heap[0]!.at <= now && this.#heap[0]!.order < limit) {
        const entry = this.#pop();
        const fn = entry.fn;
        entry.fn = null;
        fn?.();
      }
    } finally {
      this.#running = false;
      this.#arm();
    }
  }

  #arm(): void {
    while (this.#heap.length > 0 && this.#heap[0]!.fn === null) this.#pop();
    const first = this.#heap[0];
    if (!first) return this.#disarm();
    const at = Math.ceil(first.at / this.#tickMs) * this.#tickMs;
    if (at >= this.#armedAt) return;
    this.#disarm();
    this.#armedAt = at;
    this.#native = setTimeout(() => this.#run(), Math.max(0, at - this.now()));
  }

  #disarm(): void {
    if (this.#native) clearTimeout(this.#native);
    this.#native = null;
    this.#armedAt = Infinity;
  }

  #less(a: Entry, b: Entry): boolean {
    return a.at < b.at || (a.at === b.at && a.order < b.order);
  }

  #push(entry: Entry): void {
    const heap = this.#heap;
    entry.queued = true;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  #pop(): Entry {
    const heap = this.#heap;
    const top = heap[0]!;
    top.queued = false;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let min = i;
        if (l < heap.length && this.#less(heap[l]!, heap[min]!)) min = l;
        if (r < heap.length && this.#less(heap[r]!, heap[min]!)) min = r;
        if (min === i) break;
        [heap[i], heap[min]] = [heap[min]!, heap[i]!];
        i = min;
      }
    }
    return top;
  }
}
