// Write rate of the SQLite store: times writeBatch through the real
// SqliteStore on a fresh file in a temporary directory, one batch in flight as
// the gateway's ingest writes them, then checks through querySeries that every
// reading was stored (zero loss).
//   npx tsx bench/sqlite-write.ts [--devices 10000] [--metrics 2] [--batch 1000] [--batches 300] [--order shuffled|stable] [--rate 0]
// Every device reports once per round. With --order stable every round has
// the order of the first, as a fleet with fixed phases that the store first
// saw in that order; with shuffled (the default) each round has a new order,
// as after a gateway restart or with drifting phases, so a batch holds devices
// spread over the whole key range of the store's indexes. One untimed round
// comes first: at steady state every device and metric name is known. Metrics
// are temperature, humidity, then m3, m4, ... --rate paces the writes at that
// many readings/s (a batch when it is due, as ingest flushes); 0 writes as fast
// as possible. Besides the rate it prints the process's CPU time and the bytes
// it had written to disk (WAL, checkpoints) per reading: with readings spread
// over many devices, each commit rewrites an index page per device touched.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { Reading } from '../broker/contract/telemetry.js';
import { SqliteStore } from '../broker/store/sqlite.js';
import { percentile } from './suite/stats.js';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '10000' },
    metrics: { type: 'string', default: '2' },
    batch: { type: 'string', default: '1000' },
    batches: { type: 'string', default: '300' },
    order: { type: 'string', default: 'shuffled' },
    rate: { type: 'string', default: '0' },
  },
});
const devices = Number(values.devices);
const batchSize = Number(values.batch);
const batches = Number(values.batches);
const rate = Number(values.rate);
const metricNames = ['temperature', 'humidity', ...Array.from({ length: Math.max(0, Number(values.metrics) - 2) }, (_, i) => `m${i + 3}`)]
  .slice(0, Number(values.metrics));

let state = 0x9e3779b9;

/** A seeded shuffle, so runs compare: the same arrival orders every time. */
function shuffle(order: number[]): void {
  for (let i = order.length - 1; i > 0; i--) {
    state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    const j = state % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
}

const ids = Array.from({ length: devices }, (_, i) => `sim-${String(i + 1).padStart(5, '0')}`);
const order = Array.from({ length: devices }, (_, i) => i);
shuffle(order);
const T0 = Date.now() - 86_400_000;
let sent = 0;

function nextBatch(): Reading[] {
  const receivedAt = Date.now();
  return Array.from({ length: batchSize }, () => {
    if (values.order === 'shuffled' && sent > 0 && sent % devices === 0) shuffle(order);
    const device = order[sent % devices]!;
    const seq = Math.floor(sent / devices);
    sent += 1;
    const metrics: Record<string, number> = {};
    for (let m = 0; m < metricNames.length; m++) metrics[metricNames[m]!] = Math.round((20 + m * 20 + Math.sin(sent) * 5) * 100) / 100;
    return { deviceId: ids[device]!, ts: T0 + seq * 1000 + (device % 1000), seq, metrics, receivedAt };
  });
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sqlite-write-'));
const file = path.join(dir, 'telemetry.db');
const store = new SqliteStore({ path: file });
/** Bytes this process (all its threads) had the kernel write to storage, from /proc/self/io. */
const diskWrittenBytes = () => Number(/^write_bytes: (\d+)$/m.exec(fs.readFileSync('/proc/self/io', 'utf8'))?.[1] ?? NaN);
/** The WAL file keeps the size it grew to: a checkpoint that falls behind shows here. */
const walBytes = () => (fs.existsSync(`${file}-wal`) ? fs.statSync(`${file}-wal`).size : 0);
try {
  const warmup = Math.ceil(devices / batchSize);
  for (let b = 0; b < warmup; b++) await store.writeBatch(nextBatch());

  const durations: number[] = [];
  const cpuBefore = process.cpuUsage();
  const diskBefore = diskWrittenBytes();
  const started = performance.now();
  for (let b = 0; b < batches; b++) {
    const due = started + (b * batchSize * 1000) / rate;
    if (rate > 0 && due > performance.now()) await sleep(due - performance.now());
    const batch = nextBatch();
    const t = performance.now();
    await store.writeBatch(batch);
    durations.push(performance.now() - t);
  }
  const seconds = (performance.now() - started) / 1000;
  const walMiB = walBytes() / 2 ** 20;
  const cpu = process.cpuUsage(cpuBefore);
  const diskBytes = diskWrittenBytes() - diskBefore;

  let stored = 0;
  for (const id of ids) stored += (await store.querySeries({ deviceId: id, metric: metricNames[0]!, after: '0', limit: 1e9 }))?.points.length ?? 0;
  const lost = sent - stored;

  const busy = durations.reduce((sum, d) => sum + d, 0) / (seconds * 1000);
  durations.sort((a, b) => a - b);
  const ms = (v: number) => v.toFixed(1);
  const count = batches * batchSize;
  console.log(`devices=${devices} metrics=${metricNames.length} batch=${batchSize} batches=${batches} (+${warmup} warm-up) order=${values.order} rate=${rate || 'max'}`);
  console.log(`readings/s=${Math.round(count / seconds)} p50=${ms(percentile(durations, 50))} p99=${ms(percentile(durations, 99))} max=${ms(durations.at(-1)!)} ms/batch in-write=${(busy * 100).toFixed(0)}% wal=${walMiB.toFixed(0)}MiB lost=${lost}`);
  console.log(`per reading: cpu=${((cpu.user + cpu.system) / count).toFixed(1)}us disk=${(diskBytes / count / 1024).toFixed(2)}KiB (process CPU ${((cpu.user + cpu.system) / 1e4 / seconds).toFixed(0)} % of a core)`);
  if (lost !== 0) process.exitCode = 1;
} finally {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
