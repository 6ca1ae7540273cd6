import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Spool, SpoolFullError, encodeRecord } from '../../broker/ingest/spool.js';
import { makeTempDir } from '../helpers/gateway.js';

let dir: string;
let spool: Spool<number> | undefined;
beforeEach(() => {
  dir = makeTempDir('spool-');
});
afterEach(async () => {
  await spool?.close();
  spool = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

const open = async (options: { maxBytes?: number; segmentBytes?: number; onCorrupt?: (d: unknown) => void } = {}) =>
  (spool = await Spool.open<number>({ dir, maxBytes: options.maxBytes ?? 1_048_576, ...options }));

async function drain(s: Spool<number>, maxItems = 1000): Promise<number[]> {
  const out: number[] = [];
  for (let page = await s.peek(maxItems); page; page = await s.peek(maxItems)) {
    out.push(...page.items);
    await s.shift(page.records);
  }
  return out;
}

const segments = () => fs.readdirSync(dir).filter((f) => f.endsWith('.spool')).sort();

describe('Spool', () => {
  it('gives batches back in order, merging records up to maxItems but never splitting one', async () => {
    const s = await open();
    await s.append([1, 2, 3]);
    await s.append([4]);
    await s.append([5, 6]);
    expect([s.items, s.empty]).toEqual([6, false]);
    expect(s.bytes).toBe(encodeRecord([1, 2, 3]).length + encodeRecord([4]).length + encodeRecord([5, 6]).length);

    expect(await s.peek(4)).toEqual({ items: [1, 2, 3, 4], records: 2 });
    expect(await s.peek(1)).toEqual({ items: [1, 2, 3], records: 1 });
    await s.shift(2);
    expect(s.items).toBe(2);
    expect(await drain(s)).toEqual([5, 6]);
    expect(s.empty).toBe(true);
    // Read to the end: nothing is left on disk.
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('keeps unread batches, and only those, across a reopen', async () => {
    const s = await open();
    for (let i = 0; i < 5; i++) await s.append([i * 10, i * 10 + 1]);
    await s.shift(2);
    await s.close();

    const reopened = await open();
    expect(reopened.items).toBe(6);
    expect(await drain(reopened)).toEqual([20, 21, 30, 31, 40, 41]);
  });

  it('rolls over to new segment files and deletes each once it is read', async () => {
    // About 17 bytes a record: two records to a segment.
    const s = await open({ segmentBytes: 30 });
    for (let i = 1; i <= 12; i++) await s.append([i, i]);
    expect(segments()).toHaveLength(6);
    // A read stops at the end of a segment.
    const first = await s.peek(6);
    expect(first).toEqual({ items: [1, 1, 2, 2], records: 2 });
    await s.shift(first!.records);
    expect(segments()).toHaveLength(5);
    await s.close();

    const reopened = await open({ segmentBytes: 30 });
    expect(await drain(reopened, 5)).toEqual([3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12]);
  });

  it('cuts off a last line left half-written by a crash, and appends after a restart in order', async () => {
    const s = await open();
    await s.append([1]);
    await s.append([2]);
    await s.close();
    const [segment] = segments();
    const torn = encodeRecord([3]).subarray(0, 10);
    fs.appendFileSync(path.join(dir, segment!), torn);

    const reopened = await open();
    expect(reopened.items).toBe(2);
    expect(fs.statSync(path.join(dir, segment!)).size).toBe(encodeRecord([1]).length + encodeRecord([2]).length);
    await reopened.append([4]);
    expect(await drain(reopened)).toEqual([1, 2, 4]);
  });

  it('skips and reports a record that fails its checksum', async () => {
    const s = await open();
    await s.append([1]);
    await s.append([2]);
    await s.append([3]);
    await s.close();
    const file = path.join(dir, segments()[0]!);
    const data = fs.readFileSync(file);
    const second = encodeRecord([1]).length;
    data[second + data.subarray(second).indexOf('[') + 1] = '9'.charCodeAt(0);
    fs.writeFileSync(file, data);

    const corrupt: unknown[] = [];
    const reopened = await open({ onCorrupt: (d) => corrupt.push(d) });
    expect(corrupt).toEqual([{ segment: file, offset: second, items: null }]);
    expect(await drain(reopened)).toEqual([1, 3]);
  });

  it('refuses a batch past maxBytes with SpoolFullError and keeps what it has', async () => {
    const record = encodeRecord([1, 2, 3]).length;
    const s = await open({ maxBytes: record * 2 + 1 });
    await s.append([1, 2, 3]);
    await s.append([4, 5, 6]);
    await expect(s.append([7, 8, 9])).rejects.toBeInstanceOf(SpoolFullError);
    expect(s.items).toBe(6);
    expect(await drain(s)).toEqual([1, 2, 3, 4, 5, 6]);
    await s.append([7, 8, 9]);
    expect(await drain(s)).toEqual([7, 8, 9]);
  });
});
