import { describe, expect, it } from 'vitest';
import { RequestError } from '../../broker/errors.js';
import { MAX_CURSOR_NODES, formatCursor, mergeAfter, mergeNewest, parseCursor, type NodeRow } from '../../broker/store/influx-cursor.js';

const row = (node: string, time: number): NodeRow<string> => ({ node, time, row: `${node}@${time}` });

describe('influx series cursor (one position per node)', () => {
  it('round-trips positions in one canonical text, and reads the single-number cursors of untagged points', () => {
    const positions = new Map([['b-2', 20], ['a.1', 10]]);
    expect(formatCursor(positions)).toBe('a.1:10,b-2:20');
    expect(parseCursor('a.1:10,b-2:20')).toEqual(new Map([['a.1', 10], ['b-2', 20]]));
    expect(formatCursor(new Map())).toBe('0');
    expect(parseCursor('0')).toEqual(new Map());
    expect(parseCursor('1764323000123456')).toEqual(new Map([['', 1764323000123456]]));
    expect(formatCursor(new Map([['', 5], ['n', 7]]))).toBe('5,n:7');
  });

  it('refuses what no store handed out, with bad_cursor', () => {
    const tooMany = Array.from({ length: MAX_CURSOR_NODES + 1 }, (_, i) => `n${i}:1`).join(',');
    for (const text of ['', 'x', 'a:', ':5', 'a:1,a:2', 'a:-1', 'a b:1', 'a:1,', '99999999999999999', 'a:1.5', tooMany]) {
      const error = (() => {
        try {
          parseCursor(text);
        } catch (err) {
          return err;
        }
        return null;
      })();
      expect(error, text).toBeInstanceOf(RequestError);
      expect((error as RequestError).code).toBe('bad_cursor');
    }
  });

  it('pages the oldest rows of all nodes and moves each node only past what it delivered', () => {
    const rows = [row('a', 5), row('b', 1), row('a', 3), row('b', 9)];
    const page = mergeAfter(new Map([['a', 2]]), rows, 3);
    expect(page.rows).toEqual(['b@1', 'a@3', 'a@5']);
    expect(page.cursors).toEqual(['a:2,b:1', 'a:3,b:1', 'a:5,b:1']);
    expect(page.cursor).toBe('a:5,b:1');
    // Nothing new: the same cursor comes back.
    expect(mergeAfter(parseCursor(page.cursor), [], 3).cursor).toBe(page.cursor);
  });

  it('answers the newest rows with a cursor that skips every node\'s older points and nothing newer', () => {
    // Node a returned its newest rows 10 and 12; b only old ones (2, 4); c only a row not yet visible (floor 29).
    const page = mergeNewest([row('a', 10), row('a', 12), row('b', 2), row('b', 4)], 2, new Map([['a', 9], ['b', 1], ['c', 29]]));
    expect(page.rows).toEqual(['a@10', 'a@12']);
    expect(page.cursor).toBe('a:12,b:4,c:29');
    expect(page.cursors).toEqual(['a:10,b:4,c:29', 'a:12,b:4,c:29']);
  });
});
