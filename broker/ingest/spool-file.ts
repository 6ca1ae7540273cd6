// The spool's file formats: scanning a segment back into record offsets
// (checking each line's CRC-32) and the position file.
import fs from 'node:fs';
import { crc32 } from 'node:zlib';

export interface RecordRef {
  offset: number;
  length: number;
  items: number;
}

export interface Position {
  seq: number;
  index: number;
}

const NEWLINE = 0x0a;

/** `<crc32 hex> <items> <json>`: the item count when the checksum matches, else null. */
function checkLine(line: Buffer): number | null {
  const text = line.toString('utf8');
  const match = /^([0-9a-f]{8}) (\d+) /.exec(text);
  if (!match || crc32(text.slice(9)).toString(16).padStart(8, '0') !== match[1]) return null;
  return Number(match[2]);
}

/**
 * Reads a segment's records. A last line without its newline, or failing its
 * checksum, is an append cut short by a crash: with `truncateTorn` it is cut
 * off the file. Any other bad line is reported and skipped.
 */
export async function scanSegment(
  file: string,
  truncateTorn: boolean,
  onCorrupt: (offset: number, items: number | null) => void,
): Promise<{ refs: RecordRef[]; bytes: number }> {
  const data = await fs.promises.readFile(file);
  const refs: RecordRef[] = [];
  let offset = 0;
  while (offset < data.length) {
    const end = data.indexOf(NEWLINE, offset);
    const line = data.subarray(offset, end === -1 ? data.length : end);
    const items = end === -1 ? null : checkLine(line);
    const isLast = end === -1 || end === data.length - 1;
    if (items === null && isLast && truncateTorn) {
      await fs.promises.truncate(file, offset);
      return { refs, bytes: offset };
    }
    if (items === null) onCorrupt(offset, null);
    else refs.push({ offset, length: line.length + 1, items });
    if (end === -1) break;
    offset = end + 1;
  }
  return { refs, bytes: data.length };
}

export async function readPosition(file: string): Promise<Position | null> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const match = /^(\d+) (\d+)\n$/.exec(text);
  return match ? { seq: Number(match[1]), index: Number(match[2]) } : null;
}

/** Written to a temporary file, synced, then renamed over the old one: a crash leaves the old or the new position, never half of one. */
export async function writePosition(file: string, position: Position): Promise<void> {
  const temp = `${file}.tmp`;
  const handle = await fs.promises.open(temp, 'w');
  try {
    await handle.write(`${position.seq} ${position.index}\n`);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await fs.promises.rename(temp, file);
}
