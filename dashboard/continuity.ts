// Up to where a device's series is known to be complete, by its sequence
// numbers, for a source whose fast path can skip readings (live MQTT: nothing
// is kept for a client while it is not subscribed). A reading published just
// before a (re)subscription is neither delivered live nor, for up to an ingest
// flush, in the store; this is how such a hole is noticed, and from which point
// a catch-up has to read. Pure and bounded.

/** A reading's identity along the series. */
export interface Mark {
  ts: number;
  seq: number | null;
}

export class Continuity {
  // seq -> ts of recently seen readings, oldest first (a Map keeps insertion order).
  private readonly seqs = new Map<number, number>();
  private anchorMark: Mark | null = null;
  private highest: Mark | null = null;

  constructor(readonly capacity: number) {}

  /**
   * The newest reading up to which nothing is missing; a catch-up must reach
   * back to it. Null before the first catch-up.
   */
  get anchor(): Mark | null {
    return this.anchorMark;
  }

  /** Readings newer than the anchor were seen while the one right after it was not. */
  get hasGap(): boolean {
    const a = this.anchorMark;
    const h = this.highest;
    return a !== null && a.seq !== null && h !== null && h.seq !== null && h.seq > a.seq;
  }

  /** Readings delivered live (all of the device's, whichever metrics they carry) or caught up. */
  seen(marks: readonly Mark[]): void {
    for (const m of marks) {
      if (m.seq === null) {
        // Without sequence numbers there is no hole to find: the newest reading is all that is known.
        if (this.anchorMark === null || m.ts > this.anchorMark.ts) this.anchorMark = { ts: m.ts, seq: null };
        continue;
      }
      const a = this.anchorMark;
      if (a !== null && a.seq !== null && m.seq < a.seq && m.ts > a.ts) {
        // The device restarted its counter: what came before is a finished series.
        this.seqs.clear();
        this.anchorMark = { ts: m.ts, seq: m.seq };
        this.highest = null;
      }
      this.seqs.delete(m.seq);
      this.seqs.set(m.seq, m.ts);
      if (this.seqs.size > this.capacity) this.seqs.delete(this.seqs.keys().next().value!);
      if (this.highest === null || this.highest.seq === null || m.seq > this.highest.seq) this.highest = { ts: m.ts, seq: m.seq };
    }
    this.advance();
  }

  /**
   * A catch-up page (storage order, newest last) that reached back to the
   * anchor: everything up to its newest reading is now held, and a seq still
   * missing below it is not in this series (a reading without this metric).
   */
  caughtUp(page: readonly Mark[]): void {
    this.seen(page);
    const newest = page.at(-1);
    if (newest && (this.anchorMark === null || newest.ts >= this.anchorMark.ts)) this.anchorMark = { ts: newest.ts, seq: newest.seq };
    this.advance();
  }

  private advance(): void {
    let a = this.anchorMark;
    while (a !== null && a.seq !== null && this.seqs.has(a.seq + 1)) a = { ts: this.seqs.get(a.seq + 1)!, seq: a.seq + 1 };
    this.anchorMark = a;
  }
}
