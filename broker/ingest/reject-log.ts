// Rejections are logged without letting one broken device flood the log: the
// first of each (client, reason) is logged at once, later ones are summed and
// reported at most once per window.

export interface RejectLogEntry {
  clientId: string;
  reason: string;
  message: string;
  /** How many like it were suppressed since the last line for this key. */
  suppressed: number;
}

interface Slot {
  loggedAt: number;
  suppressed: number;
}

export class RejectLog {
  private readonly slots = new Map<string, Slot>();

  constructor(
    private readonly emit: (entry: RejectLogEntry) => void,
    private readonly now: () => number,
    private readonly windowMs = 60_000,
    private readonly maxKeys = 10_000,
  ) {}

  record(clientId: string, reason: string, message: string): void {
    const key = `${clientId}\u0000${reason}`;
    const t = this.now();
    const slot = this.slots.get(key);
    if (slot && t - slot.loggedAt < this.windowMs) {
      slot.suppressed += 1;
      return;
    }
    // Random client ids from a hostile peer must not grow this map without bound.
    if (!slot && this.slots.size >= this.maxKeys) this.slots.clear();
    this.emit({ clientId, reason, message, suppressed: slot?.suppressed ?? 0 });
    this.slots.set(key, { loggedAt: t, suppressed: 0 });
  }
}
