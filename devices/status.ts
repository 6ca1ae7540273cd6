// What the CLI shows (issue #4, item 5): a live line on a terminal, periodic
// lines for `docker compose logs`, and a final summary (text or JSON).
// Formatting is pure; the reporter only decides when to write.
import type { FleetStats } from './fleet.js';

export interface Summary extends FleetStats {
  /** Target readings per second for the whole fleet. */
  targetRate: number;
  /** Acknowledged readings per second over the run. */
  achievedRate: number;
}

function si(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

export function formatStatus(s: FleetStats, readingsPerS: number): string {
  const parts = [
    `connected ${s.connected}/${s.connections}`,
    `${si(readingsPerS)} readings/s`,
    `acked ${si(s.acknowledged)}`,
    `errors ${s.errors}`,
    `reconnects ${s.reconnects}`,
    `buffered ${si(s.buffered)}`,
  ];
  if (s.dropped) parts.push(`dropped ${si(s.dropped)}`);
  if (s.malformed) parts.push(`malformed ${si(s.malformed)} (rejected ${si(s.rejected)})`);
  if (s.storms) parts.push(`storms ${s.storms}`);
  if (s.slowSubscriber) parts.push(`slow subscriber ${s.slowSubscriber.connected ? 'reading' : 'cut off'} (${si(s.slowSubscriber.received)} read)`);
  return parts.join(' | ');
}

export function summarize(s: FleetStats, targetRate: number): Summary {
  const seconds = s.elapsedMs / 1000;
  return { ...s, targetRate, achievedRate: seconds > 0 ? Math.round((s.acknowledged / seconds) * 100) / 100 : 0 };
}

export function formatSummary(s: Summary): string {
  const lines = [
    `devices ${s.devices}, ${(s.elapsedMs / 1000).toFixed(1)} s, ${s.achievedRate} readings/s acknowledged (target ${s.targetRate})`,
    `readings: produced ${s.produced}, published ${s.published}, acknowledged ${s.acknowledged}, buffered ${s.buffered}, dropped ${s.dropped}`,
    `connections: ${s.connects} connects, ${s.reconnects} reconnects, ${s.errors} errors${s.lastError ? ` (last: ${s.lastError})` : ''}`,
  ];
  if (s.malformed || s.rejected) lines.push(`faults: ${s.malformed} malformed sent, ${s.rejected} rejection notices`);
  if (s.storms) lines.push(`storms: ${s.storms}`);
  if (s.slowSubscriber) lines.push(`slow subscriber: ${s.slowSubscriber.received} messages read, ${s.slowSubscriber.connected ? 'still connected' : 'cut off by the gateway'}`);
  return lines.join('\n');
}

export interface ReporterOptions {
  write: (text: string) => void;
  /** A terminal gets one line rewritten in place. */
  tty: boolean;
  logEveryMs: number;
}

/**
 * Fed a snapshot about once a second; derives readings/s from acknowledged
 * deltas since the last line it wrote: the last second on a terminal's live
 * line, the whole period on a log line, which would otherwise report one
 * second in ten.
 */
export class StatusReporter {
  /** When the last line was written, and what was acknowledged by then. */
  #mark = { at: 0, acknowledged: 0 };
  #lineOpen = false;

  constructor(private readonly o: ReporterOptions) {}

  update(stats: FleetStats): void {
    if (!this.o.tty && stats.elapsedMs - this.#mark.at < this.o.logEveryMs) return;
    const dt = stats.elapsedMs - this.#mark.at;
    const rate = dt > 0 ? ((stats.acknowledged - this.#mark.acknowledged) * 1000) / dt : 0;
    this.#mark = { at: stats.elapsedMs, acknowledged: stats.acknowledged };
    const line = formatStatus(stats, rate);
    if (this.o.tty) {
      this.o.write(`\r\x1b[2K${line}`);
      this.#lineOpen = true;
    } else {
      this.o.write(`${new Date().toISOString()} ${line}\n`);
    }
  }

  /** Ends the live line so what follows starts on its own. */
  finish(): void {
    if (this.#lineOpen) this.o.write('\n');
    this.#lineOpen = false;
  }
}
