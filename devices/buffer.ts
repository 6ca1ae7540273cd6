// The bounded offline buffer of one device (issue #4, item 3): readings wait
// here while the device is disconnected and leave in order once it is back.
// Memory grows with what is buffered, not with the bound: ten thousand idle
// devices with a 1,000-reading bound must not reserve ten million slots.

export class ReadingBuffer<T> {
  #items: T[] = [];
  /** Index of the oldest item; consumed slots before it are compacted away in bulk. */
  #head = 0;
  /** Readings discarded because the buffer was full: the oldest go first. */
  dropped = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`buffer capacity must be a positive integer, got ${capacity}`);
  }

  get length(): number {
    return this.#items.length - this.#head;
  }

  /** Appends; when full, drops the oldest to make room. */
  push(item: T): void {
    if (this.length === this.capacity) {
      this.#head++;
      this.dropped++;
    }
    this.#items.push(item);
    this.#compact();
  }

  /**
   * Puts back items older than everything buffered (the unacknowledged
   * publishes of a lost connection), keeping their order. When that overflows
   * the bound, the oldest are dropped, as `push` would have done.
   */
  unshiftAll(items: readonly T[]): void {
    const rest = this.#items.slice(this.#head);
    const merged = items.length + rest.length > this.capacity ? [...items, ...rest].slice(-this.capacity) : [...items, ...rest];
    this.dropped += items.length + rest.length - merged.length;
    this.#items = merged;
    this.#head = 0;
  }

  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const item = this.#items[this.#head];
    this.#head++;
    this.#compact();
    return item;
  }

  clear(): void {
    this.#items = [];
    this.#head = 0;
  }

  /** Amortised O(1): copies only once the dead prefix outweighs the live items. */
  #compact(): void {
    if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#head = 0;
    } else if (this.#head >= 64 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }
}
