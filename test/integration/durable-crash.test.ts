// kill -9 of a single gateway during a QoS 1 stream (issue #8, items 1, 4
// and 5), with the gateway as its own process on SQLite and the default
// on-disk broker persistence:
//   - every reading acknowledged before the kill is in the SQLite file the
//     dead process left (a PUBACK goes out only after the commit);
//   - after a restart on the same data directory, the devices' retransmissions
//     are acknowledged and every reading is stored exactly once, including
//     readings committed before the kill and sent again afterwards (as by a
//     device whose PUBACK the kill took);
//   - a persistent session that was offline throughout receives every reading.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, waitFor } from '../helpers/clients.js';
import { spawnGateway, type GatewayProcess } from '../helpers/gateway-process.js';
import { makeTempDir } from '../helpers/gateway.js';
import { startPublishers, type Publishers } from '../helpers/qos1-publishers.js';
import { connectSession } from '../helpers/sessions.js';

const DEVICES = 20;
const RATE = 50;

/** device -> seq -> rows, straight from the SQLite file. */
function storedRows(file: string): Map<string, Map<number, number>> {
  const db = new Database(file);
  try {
    const rows = db.prepare(`SELECT d.id AS device, r.seq AS seq, count(*) AS n FROM readings r JOIN devices d ON d.key = r.device
      GROUP BY d.id, r.seq`).all() as Array<{ device: string; seq: number; n: number }>;
    const byDevice = new Map<string, Map<number, number>>();
    for (const r of rows) {
      if (!byDevice.has(r.device)) byDevice.set(r.device, new Map());
      byDevice.get(r.device)!.set(r.seq, r.n);
    }
    return byDevice;
  } finally {
    db.close();
  }
}

describe('kill -9 of a single gateway during a QoS 1 stream', () => {
  let dataDir: string;
  let gateway: GatewayProcess | undefined;
  let devices: Publishers | undefined;

  beforeAll(() => {
    dataDir = makeTempDir('gw-crash-');
  });
  afterAll(async () => {
    await devices?.close();
    await gateway?.kill();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('stores every acknowledged reading once after a restart, and delivers the offline session\'s queue', { timeout: 60_000 }, async () => {
    gateway = await spawnGateway({ dataDir });
    const sqlite = path.join(dataDir, 'telemetry.db');
    const { mqttPort, httpPort } = gateway;
    const watcher = await connectSession(gateway.mqttUrl, { clientId: 'watcher', clean: false });
    await watcher.client.subscribeAsync('devices/+/telemetry', { qos: 1 });
    await watcher.client.endAsync();

    // A reading the gateway commits, whose device then sends it again after the restart, as one that never saw the PUBACK would.
    const again = JSON.stringify({ ts: Date.now(), seq: 1, metrics: { v: 1 } });
    const repeater = await connectSession(gateway.mqttUrl, { clientId: 'again' });
    await repeater.client.publishAsync('devices/again/telemetry', again, { qos: 1 });
    await repeater.client.endAsync();

    const ids = Array.from({ length: DEVICES }, (_, i) => `crash-${String(i).padStart(2, '0')}`);
    devices = await startPublishers(ids, () => ({ url: gateway!.mqttUrl }), RATE);
    await waitFor(() => devices!.totals().acked >= 1_000, { timeoutMs: 15_000, what: '1,000 acknowledged readings' });
    await gateway.kill();
    const ackedBeforeKill = new Map(devices.list.map((p) => [p.deviceId, new Set(p.acked)]));
    devices.stopCreating();

    // The dead process's file: everything it acknowledged is there.
    const left = storedRows(sqlite);
    let committedUnacked = 0;
    for (const [device, acked] of ackedBeforeKill) {
      const rows = left.get(device) ?? new Map<number, number>();
      for (const seq of acked) expect(rows.get(seq), `${device} seq ${seq}`).toBe(1);
      committedUnacked += [...rows.keys()].filter((seq) => !acked.has(seq)).length;
    }

    gateway = await spawnGateway({ dataDir, ports: { mqtt: mqttPort, http: httpPort } });
    await devices.allAcked(20_000);
    const totals = devices.totals();
    const resent = await connectSession(gateway.mqttUrl, { clientId: 'again' });
    await resent.client.publishAsync('devices/again/telemetry', again, { qos: 1, dup: true });
    await resent.client.endAsync();
    const session = await connectSession(gateway.mqttUrl, { clientId: 'watcher', clean: false });
    const queued = collect(session.client);
    const wanted = totals.published + 1;
    const received = () => new Set(queued.map((m) => `${m.topic} ${JSON.parse(m.payload.toString()).seq}`)).size;
    await waitFor(() => received() >= wanted, { timeoutMs: 20_000, what: `the offline session's ${wanted} readings` });
    await session.client.endAsync();
    expect(session.sessionPresent).toBe(true);
    expect(await gateway.stop()).toBe(0);

    const stored = storedRows(sqlite);
    let rows = 0;
    for (const p of devices.list) {
      const seqs = stored.get(p.deviceId)!;
      expect([...seqs.keys()].sort((a, b) => a - b), p.deviceId).toEqual(Array.from({ length: p.published }, (_, i) => i + 1));
      expect([...seqs.values()].every((n) => n === 1), `${p.deviceId}: one row per reading`).toBe(true);
      rows += seqs.size;
    }
    const ackedBefore = [...ackedBeforeKill.values()].reduce((sum, s) => sum + s.size, 0);
    console.log(`single-node kill -9: ${totals.published} readings published, ${ackedBefore} acknowledged before the kill, `
      + `${committedUnacked} committed without their PUBACK, ${totals.packets - totals.published} PUBLISH retransmissions, `
      + `${totals.acked} acknowledged in the end, ${rows} stored (one row each); offline session received ${received()} distinct of ${queued.length} messages`);
    expect(rows).toBe(totals.published);
    expect(stored.get('again')).toEqual(new Map([[1, 1]]));
  });
});
