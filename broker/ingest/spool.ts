// The on-disk spool: an append-only queue of batches that takes over while the
// store refuses writes, so that a reading acknowledged to a device survives an
// outage and a restart.
//
// Layout: numbered segment files (`000000000001.spool`, …) of lines
//   <crc32 hex> <item count> <JSON array of items>\n
// appended and fsynced one batch at a time; and `position`, the first unread
// record (segment and index), replaced atomically after each replayed batch.
// A segment is deleted once read to its end; an empty spool is an empty
// directory. A line cut short by a crash is cut off at the next open; a line
// that fails its checksum elsewhere is skipped and reported. Limits: after a
// power loss the last position update may be lost, and the batches replayed
// just before it are replayed again.
import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { GatewayError } from '../errors.js';
import { readPosition, scanSegment, writePosition, type RecordRef } from './spool-file.js';

/** The spool holds `maxBytes` already; the batch was not written. */
export class SpoolFullError extends GatewayError {
  constructor(bytes: number, maxBytes: number) {
    super('GW_ERR_SPOOL_FULL', `spool is full (${bytes} of ${maxBytes} bytes)`, 503);
  }
}

export interface SpoolOptions {
  dir: string;
  maxBytes: number;
  /** A new segment file is started past this size (default: an eighth of maxBytes, at most 8 MiB). */
  segmentBytes?: number;
  /** A record that failed its checksum and was skipped: its items are lost. */
  onCorrupt?: (detail: { segment: string; offset: number; items: number | null }) => void;
}

interface Segment {
  seq: number;
  bytes: number;
  items: number;
}

const SEGMENT_NAME = /^(\d{12})\.spool$/;

function segmentName(seq: number): string {
  return `${String(seq).padStart(12, '0')}.spool`;
}

export function encodeRecord(items: readonly unknown[]): Buffer {
  const body = `${items.length} ${JSON.stringify(items)}`;
  return Buffer.from(`${crc32(body).toString(16).padStart(8, '0')} ${body}\n`);
}

export class Spool<T> {
  private segments: Segment[] = [];
  /** Records of the oldest segment and how many of them were read. */
  private head: { refs: RecordRef[]; index: number; consumedItems: number } = { refs: [], index: 0, consumedItems: 0 };
  private tail: fs.promises.FileHandle | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private nextSeq = 1;
  private readonly segmentBytes: number;

  private constructor(private readonly opts: SpoolOptions) {
    this.segmentBytes = opts.segmentBytes ?? Math.min(8 * 1024 * 1024, Math.floor(opts.maxBytes / 8));
  }

  /** Opens (or creates) the spool in `dir`, dropping what was already replayed and a torn last line. */
  static async open<T>(opts: SpoolOptions): Promise<Spool<T>> {
    const spool = new Spool<T>(opts);
    await spool.load();
    return spool;
  }

  /** Items not yet replayed. */
  get items(): number {
    return this.segments.reduce((sum, s) => sum + s.items, 0) - this.head.consumedItems;
  }

  /** Bytes on disk, replayed records of the oldest segment included. */
  get bytes(): number {
    return this.segments.reduce((sum, s) => sum + s.bytes, 0);
  }

  get empty(): boolean {
    return this.items === 0;
  }

  /** Appends one batch and fsyncs it; throws SpoolFullError past maxBytes. */
  append(items: readonly T[]): Promise<void> {
    return this.serial(async () => {
      const record = encodeRecord(items);
      if (this.bytes + record.length > this.opts.maxBytes) throw new SpoolFullError(this.bytes, this.opts.maxBytes);
      let last = this.segments.at(-1);
      if (!last || !this.tail || last.bytes >= this.segmentBytes) last = await this.startSegment();
      await this.tail!.write(record);
      await this.tail!.datasync();
      if (last === this.segments[0]) this.head.refs.push({ offset: last.bytes, length: record.length, items: items.length });
      last.bytes += record.length;
      last.items += items.length;
    });
  }

  /** The oldest unread records, together at most `maxItems` items (but always one record), without removing them. */
  peek(maxItems: number): Promise<{ items: T[]; records: number } | null> {
    return this.serial(async () => {
      const { refs, index } = this.head;
      if (index >= refs.length) return null;
      let end = index + 1;
      let count = refs[index]!.items;
      while (end < refs.length && count + refs[end]!.items <= maxItems) count += refs[end++]!.items;
      const first = refs[index]!;
      const last = refs[end - 1]!;
      const buffer = Buffer.alloc(last.offset + last.length - first.offset);
      const file = await fs.promises.open(this.segmentPath(this.segments[0]!.seq), 'r');
      try {
        await file.read(buffer, 0, buffer.length, first.offset);
      } finally {
        await file.close();
      }
      const items: T[] = [];
      // By offset, not by splitting lines: a skipped corrupt line may sit between two records.
      for (const ref of refs.slice(index, end)) {
        const line = buffer.toString('utf8', ref.offset - first.offset, ref.offset - first.offset + ref.length - 1);
        items.push(...(JSON.parse(line.slice(line.indexOf(' ', 9) + 1)) as T[]));
      }
      return { items, records: end - index };
    });
  }

  /** Marks the `records` oldest records as replayed. */
  shift(records: number): Promise<void> {
    return this.serial(async () => {
      for (let i = 0; i < records; i++) this.head.consumedItems += this.head.refs[this.head.index++]!.items;
      while (this.segments.length > 0 && this.head.index >= this.head.refs.length) {
        const done = this.segments.shift()!;
        if (this.segments.length === 0) {
          await this.tail?.close();
          this.tail = null;
        }
        await fs.promises.rm(this.segmentPath(done.seq), { force: true });
        this.head = { refs: [], index: 0, consumedItems: 0 };
        if (this.segments[0]) this.head.refs = (await scanSegment(this.segmentPath(this.segments[0].seq), false, () => {})).refs;
      }
      if (this.segments.length === 0) await fs.promises.rm(this.positionPath(), { force: true });
      else await writePosition(this.positionPath(), { seq: this.segments[0]!.seq, index: this.head.index });
    });
  }

  async close(): Promise<void> {
    await this.serial(async () => {
      await this.tail?.close();
      this.tail = null;
    });
  }

  private serial<R>(op: () => Promise<R>): Promise<R> {
    const run = this.chain.then(op);
    this.chain = run.catch(() => {});
    return run;
  }

  private segmentPath(seq: number): string {
    return path.join(this.opts.dir, segmentName(seq));
  }

  private positionPath(): string {
    return path.join(this.opts.dir, 'position');
  }

  private async startSegment(): Promise<Segment> {
    await this.tail?.close();
    const segment = { seq: this.nextSeq++, bytes: 0, items: 0 };
    this.tail = await fs.promises.open(this.segmentPath(segment.seq), 'a');
    // The new file's directory entry must survive a crash too.
    const dir = await fs.promises.open(this.opts.dir, 'r');
    await dir.sync().finally(() => dir.close());
    this.segments.push(segment);
    return segment;
  }

  private async load(): Promise<void> {
    await fs.promises.mkdir(this.opts.dir, { recursive: true });
    const seqs = (await fs.promises.readdir(this.opts.dir))
      .map((name) => SEGMENT_NAME.exec(name)?.[1])
      .filter((seq): seq is string => seq !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    const position = await readPosition(this.positionPath());
    for (const seq of seqs) {
      const file = this.segmentPath(seq);
      if (position && seq < position.seq) {
        await fs.promises.rm(file, { force: true });
        continue;
      }
      const isLast = seq === seqs.at(-1);
      const { refs, bytes } = await scanSegment(file, isLast, (offset, items) => this.opts.onCorrupt?.({ segment: file, offset, items }));
      const segment = { seq, bytes, items: refs.reduce((sum, r) => sum + r.items, 0) };
      this.segments.push(segment);
      if (this.segments.length === 1) {
        const index = position?.seq === seq ? Math.min(position.index, refs.length) : 0;
        this.head = { refs, index, consumedItems: refs.slice(0, index).reduce((sum, r) => sum + r.items, 0) };
      }
      this.nextSeq = seq + 1;
    }
    // Deletes segments read to their end before a restart. Appends after a
    // restart go to a new segment (the tail handle is not reopened).
    await this.shift(0);
  }
}
