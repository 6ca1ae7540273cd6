// The InfluxDB store's series cursor when several gateways write one database
// (issue #8). Each gateway stamps its points with its own storage clock and a
// `node` tag; times of one node grow in its commit order (influx.ts, rule 1),
// but two nodes' clocks and commits interleave freely, so one number cannot
// say "everything before this was seen". The cursor is therefore one
// position per node: the time of the last point of that node the client has
// received. A node the cursor does not name is at 0 (nothing received), which
// is why a reader that does not know a node yet loses nothing, only sees its
// points a little later.
//
// Text form: `node:time` entries sorted by node and joined by `,`; `0` when
// empty. A bare number is the position of the points written before node
// tags existed (node ''), so cursors handed out by older versions stay valid.
// Pure: no I/O.
import { RequestError } from '../errors.js';

/** Node id -> time (µs) of the last point of that node already delivered. */
export type NodePositions = ReadonlyMap<string, number>;

/** One `points` row of one node, as the page merge needs it. */
export interface NodeRow<T> {
  node: string;
  time: number;
  row: T;
}

/** Upper bound on the nodes one cursor names; a database written by more node ids than this is not supported. */
export const MAX_CURSOR_NODES = 64;
const ENTRY = /^(?:([A-Za-z0-9_.-]{1,64}):)?(\d{1,16})$/;

function badCursor(): RequestError {
  return new RequestError('bad_cursor', 'cursor must be a value returned by a previous request');
}

export function parseCursor(text: string): Map<string, number> {
  const positions = new Map<string, number>();
  if (text === '0') return positions;
  const entries = text.split(',');
  if (entries.length > MAX_CURSOR_NODES) throw badCursor();
  for (const entry of entries) {
    const match = ENTRY.exec(entry);
    const time = Number(match?.[2]);
    const node = match?.[1] ?? '';
    if (!match || !Number.isSafeInteger(time) || positions.has(node)) throw badCursor();
    if (time > 0) positions.set(node, time);
  }
  return positions;
}

export function formatCursor(positions: NodePositions): string {
  const entries = [...positions].filter(([, time]) => time > 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) return '0';
  return entries.map(([node, time]) => (node === '' ? String(time) : `${node}:${time}`)).join(',');
}

function byTime<T>(a: NodeRow<T>, b: NodeRow<T>): number {
  return a.time - b.time || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0);
}

export interface MergedPage<T> {
  rows: T[];
  /** The cursor just after each row. */
  cursors: string[];
  cursor: string;
}

/**
 * Pages after `positions`: each node's rows are the oldest `limit` visible
 * rows past its position, in time order. The page takes the oldest `limit`
 * of all of them, so each node's share is a prefix of its rows and its new
 * position leaves nothing of it behind.
 */
export function mergeAfter<T>(positions: NodePositions, rows: NodeRow<T>[], limit: number): MergedPage<T> {
  const taken = [...rows].sort(byTime).slice(0, limit);
  const state = new Map(positions);
  const cursors = taken.map((r) => {
    state.set(r.node, r.time);
    return formatCursor(state);
  });
  return { rows: taken.map((r) => r.row), cursors, cursor: formatCursor(state) };
}

/**
 * The newest `limit` points: each node's rows are its newest `limit` visible
 * rows (any order); `floors` holds, per node that answered, the time just
 * below the oldest row it returned, visible or not: a node's older points
 * are older than its `limit` newest, so none of them belongs on the page.
 * Positions start where the page starts: just before a node's first row on
 * the page, or, for a node with no row on it, at its newest visible row.
 */
export function mergeNewest<T>(rows: NodeRow<T>[], limit: number, floors: NodePositions): MergedPage<T> {
  const sorted = [...rows].sort(byTime);
  const taken = sorted.slice(Math.max(0, sorted.length - limit));
  const start = new Map(floors);
  for (const r of sorted) start.set(r.node, r.time);
  for (const r of [...taken].reverse()) start.set(r.node, r.time - 1);
  return mergeAfter(start, taken, limit);
}
