// The TelemetryStore contract (STYLE.md §8): one suite, run against every
// implementation by test/store/<kind>.test.ts. A target opens a store on its
// own fresh location per test; `open` may be called again to reopen the same one.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Reading } from '../../broker/contract/telemetry.js';
import { RequestError } from '../../broker/errors.js';
import type { TelemetryStore } from '../../broker/store/store.js';

export interface ContractTarget {
  open(now: () => number): Promise<TelemetryStore>;
  /** Removes what the target created. */
  cleanup(): Promise<void>;
}

/** A minute-aligned start an hour ago: real enough for any retention, round enough for history buckets. */
const T0 = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000;

function reading(deviceId: string, ts: number, metrics: Record<string, number>, seq: number | null = null, receivedAt = ts + 5): Reading {
  return { deviceId, ts, seq, metrics, receivedAt };
}

export function storeContract(kind: string, createTarget: () => ContractTarget | Promise<ContractTarget>): void {
  describe(`TelemetryStore contract: ${kind}`, () => {
    let target: ContractTarget;
    let store: TelemetryStore;
    let clock: number;
    const now = () => clock;

    beforeEach(async () => {
      clock = T0 + 60_000;
      target = await createTarget();
      store = await target.open(now);
    });
    afterEach(async () => {
      await store.close();
      await target.cleanup();
    });

    async function values(deviceId: string, metric: string, after = '0', limit = 10_000): Promise<number[]> {
      return (await store.querySeries({ deviceId, metric, after, limit }))!.points.map((p) => p[1]);
    }

    it('stores a batch and answers it as [ts, value, seq, receivedAt, storedAt], with the series it touched', async () => {
      const result = await store.writeBatch([
        reading('d1', T0, { temperature: 21.5, humidity: 40 }, 7, T0 + 20),
        reading('d1', T0 + 1000, { temperature: 21.75 }, null, T0 + 1020),
      ]);
      expect(result.storedAt).toBe(clock);
      expect(result.series).toHaveLength(2);
      expect(result.series).toEqual(expect.arrayContaining([{ deviceId: 'd1', metric: 'temperature' }, { deviceId: 'd1', metric: 'humidity' }]));

      const page = (await store.querySeries({ deviceId: 'd1', metric: 'temperature', limit: 100 }))!;
      expect(page.points).toEqual([[T0, 21.5, 7, T0 + 20, clock], [T0 + 1000, 21.75, null, T0 + 1020, clock]]);
      expect(page.cursors).toHaveLength(2);
      expect(page.cursor).toBe(page.cursors[1]);
      expect(await values('d1', 'humidity')).toEqual([40]);
    });

    it('answers null for an unknown device or metric, and for an unknown device', async () => {
      await store.writeBatch([reading('d1', T0, { t: 1 })]);
      expect(await store.querySeries({ deviceId: 'nobody', metric: 't', limit: 10 })).toBeNull();
      expect(await store.querySeries({ deviceId: 'd1', metric: 'nothing', after: '0', limit: 10 })).toBeNull();
      expect(await store.queryHistory({ deviceId: 'd1', metric: 'nothing', from: T0, to: T0 + 1000, stepMs: 100 })).toBeNull();
      expect(await store.getDevice('nobody')).toBeNull();
    });

    it('pages through a series with the cursor, in storage order, without gap or duplicate', async () => {
      for (let b = 0; b < 5; b++) {
        clock += 1000;
        await store.writeBatch(Array.from({ length: 7 }, (_, i) => reading('pager', T0 + b * 7 + i, { v: b * 7 + i })));
      }
      const seen: number[] = [];
      let cursor = '0';
      for (let guard = 0; guard < 100; guard++) {
        const page = (await store.querySeries({ deviceId: 'pager', metric: 'v', after: cursor, limit: 4 }))!;
        if (page.points.length === 0) {
          expect(page.cursor).toBe(cursor);
          break;
        }
        seen.push(...page.points.map((p) => p[1]));
        cursor = page.cursor;
      }
      expect(seen).toEqual(Array.from({ length: 35 }, (_, i) => i));
    });

    it('orders by storage, not by device time: a point stored later with an earlier ts still comes after the cursor', async () => {
      await store.writeBatch([reading('late', T0 + 50_000, { v: 1 })]);
      const { cursor } = (await store.querySeries({ deviceId: 'late', metric: 'v', limit: 10 }))!;
      clock += 1;
      // A reading buffered by the device (or replayed from the spool) arrives with an old ts.
      await store.writeBatch([reading('late', T0 - 50_000, { v: 2 }), reading('late', T0 + 60_000, { v: 3 })]);
      const next = (await store.querySeries({ deviceId: 'late', metric: 'v', after: cursor, limit: 10 }))!;
      expect(next.points.map((p) => [p[0], p[1]])).toEqual([[T0 - 50_000, 2], [T0 + 60_000, 3]]);
    });

    it('gives a resumable cursor for every point (SSE ids)', async () => {
      await store.writeBatch([1, 2, 3, 4].map((v) => reading('sse', T0 + v, { v })));
      const page = (await store.querySeries({ deviceId: 'sse', metric: 'v', after: '0', limit: 10 }))!;
      expect(page.cursors).toHaveLength(4);
      expect(await values('sse', 'v', page.cursors[1])).toEqual([3, 4]);
      expect(await values('sse', 'v', page.cursors[3])).toEqual([]);
    });

    it('without a cursor answers the newest `limit` points in ascending order, and its cursor continues from there', async () => {
      await store.writeBatch([1, 2, 3, 4, 5].map((v) => reading('tail', T0 + v, { v })));
      const page = (await store.querySeries({ deviceId: 'tail', metric: 'v', limit: 2 }))!;
      expect(page.points.map((p) => p[1])).toEqual([4, 5]);
      clock += 1000;
      await store.writeBatch([reading('tail', T0 + 6, { v: 6 })]);
      expect(await values('tail', 'v', page.cursor)).toEqual([6]);
    });

    it('refuses a malformed cursor with bad_cursor', async () => {
      await store.writeBatch([reading('d1', T0, { t: 1 })]);
      for (const after of ['abc', '-1', '1.5', '1e3', '', '99999999999999999999']) {
        const error = await store.querySeries({ deviceId: 'd1', metric: 't', after, limit: 10 }).catch((err: unknown) => err);
        expect(error, `cursor ${JSON.stringify(after)}`).toBeInstanceOf(RequestError);
        expect((error as RequestError).code).toBe('bad_cursor');
      }
    });

    it('lists devices with their metrics and first and last receive times', async () => {
      await store.writeBatch([reading('b-dev', T0, { z: 1, a: 2 }, 1, T0 + 10), reading('a-dev', T0, { x: 1 }, 1, T0 + 30)]);
      clock += 1000;
      await store.writeBatch([reading('b-dev', T0 + 500, { m: 3 }, 2, T0 + 510)]);
      expect(await store.listDevices()).toEqual([
        { id: 'a-dev', firstSeen: T0 + 30, lastSeen: T0 + 30, metrics: ['x'] },
        { id: 'b-dev', firstSeen: T0 + 10, lastSeen: T0 + 510, metrics: ['a', 'm', 'z'] },
      ]);
      expect(await store.getDevice('b-dev')).toEqual({ id: 'b-dev', firstSeen: T0 + 10, lastSeen: T0 + 510, metrics: ['a', 'm', 'z'] });
    });

    it('answers history in step buckets of device time, [from, to), as [t, avg, min, max, count]', async () => {
      // Stored in an order unrelated to ts: buckets follow the device's clock.
      await store.writeBatch([reading('h', T0 + 2500, { v: 7 }), reading('h', T0 + 100, { v: 1 })]);
      clock += 1000;
      await store.writeBatch([reading('h', T0 + 900, { v: 3 }), reading('h', T0 + 5000, { v: 9 }), reading('h', T0 - 1, { v: 100 })]);
      const buckets = (await store.queryHistory({ deviceId: 'h', metric: 'v', from: T0, to: T0 + 5000, stepMs: 1000 }))!;
      expect(buckets.map(([t, , min, max, count]) => [t, min, max, count])).toEqual([[T0, 1, 3, 2], [T0 + 2000, 7, 7, 1]]);
      expect(buckets[0]![1]).toBeCloseTo(2, 10);
      expect(await store.queryHistory({ deviceId: 'h', metric: 'v', from: T0 + 10_000, to: T0 + 20_000, stepMs: 1000 })).toEqual([]);
    });

    it('keeps everything across a reopen, and points stored after it come after the old cursors', async () => {
      await store.writeBatch([1, 2].map((v) => reading('keep', T0 + v, { v })));
      const { cursor } = (await store.querySeries({ deviceId: 'keep', metric: 'v', limit: 10 }))!;
      await store.close();
      store = await target.open(now);
      expect(await values('keep', 'v')).toEqual([1, 2]);
      await store.writeBatch([reading('keep', T0, { v: 3 })]);
      expect(await values('keep', 'v', cursor)).toEqual([3]);
    });

    // At-least-once ingest without duplicates (issue #8): a reading that comes
    // again has the same device, ts and seq, and is stored once.
    it('stores a reading that comes again (same device, ts and seq) once, in a later batch or the same one', async () => {
      const r = reading('dup', T0, { v: 1, w: 10 }, 1);
      await store.writeBatch([r]);
      const first = (await store.querySeries({ deviceId: 'dup', metric: 'v', limit: 10 }))!;
      clock += 1;
      // A retransmission (a copy, as from the spool or the wire) beside a new reading, and a copy of that inside one batch.
      const next = reading('dup', T0 + 1000, { v: 2, w: 20 }, 2);
      await store.writeBatch([structuredClone(r), next, structuredClone(next)]);
      expect(await values('dup', 'v')).toEqual([1, 2]);
      expect(await values('dup', 'w')).toEqual([10, 20]);
      const page = (await store.querySeries({ deviceId: 'dup', metric: 'v', after: first.cursor, limit: 10 }))!;
      expect(page.points.map((p) => [p[0], p[1], p[2]])).toEqual([[T0 + 1000, 2, 2]]);
    });

    it('keeps readings apart that share a seq but not a ts (a rebooted device counts from 0 again), and readings without seq', async () => {
      await store.writeBatch([reading('reboot', T0, { v: 1 }, 0), reading('reboot', T0, { v: 2 }), reading('reboot', T0 + 10, { v: 3 }, 1)]);
      clock += 1;
      await store.writeBatch([reading('reboot', T0 + 60_000, { v: 4 }, 0), reading('reboot', T0, { v: 2 }), reading('reboot', T0 + 10, { v: 5 }, 2)]);
      expect(await values('reboot', 'v')).toEqual([1, 2, 3, 4, 2, 5]);
    });

    it('stores a reading once when it comes again after a reopen (a device retransmitting after a gateway crash)', async () => {
      const r = reading('again', T0, { v: 1 }, 41);
      await store.writeBatch([r]);
      await store.close();
      store = await target.open(now);
      clock += 1;
      const result = await store.writeBatch([structuredClone(r), reading('again', T0 + 1, { v: 2 }, 42)]);
      expect(result.series).toEqual([{ deviceId: 'again', metric: 'v' }]);
      expect(await values('again', 'v')).toEqual([1, 2]);
      expect(await store.queryHistory({ deviceId: 'again', metric: 'v', from: T0, to: T0 + 1000, stepMs: 1000 }))
        .toEqual([[T0, 1.5, 1, 2, 2]]);
    });
  });
}
