// Write rate of the InfluxDB store for several batch sizes, against a real
// influxd this script starts on free ports with a temporary directory.
//   npx tsx bench/influx-write.ts [readings per size, default 100000]
// Batches are written one at a time, as the gateway's ingest does; each
// reading carries two metrics from one of 1,000 devices, so a reading is two
// points in `points` and two in `history`.
import { InfluxStore } from '../broker/store/influx.js';
import type { Reading } from '../broker/contract/telemetry.js';
import { startInfluxd } from '../test/helpers/influxd.js';
import { findExecutable } from '../test/helpers/tools.js';

const SIZES = [100, 1_000, 5_000];
const DEVICES = 1_000;
const total = Number(process.argv[2] ?? 100_000);

function batchOf(size: number, start: number): Reading[] {
  const now = Date.now();
  return Array.from({ length: size }, (_, i) => {
    const n = start + i;
    return {
      deviceId: `bench-${String(n % DEVICES).padStart(4, '0')}`,
      ts: now - 1000 + (n % 1000),
      seq: Math.floor(n / DEVICES),
      metrics: { temperature: 20 + (n % 97) / 10, humidity: 40 + (n % 53) / 10 },
      receivedAt: now,
    };
  });
}

async function measure(url: string, size: number): Promise<{ size: number; readingsPerSecond: number; msPerBatch: number }> {
  const store = new InfluxStore({ url, database: `bench_${size}`, username: null, password: null, retention: null, timeoutMs: 60_000, node: 'bench' });
  // Warm-up: database creation, series creation for every device, JIT.
  await store.writeBatch(batchOf(Math.max(size, 2 * DEVICES), 0));
  const batches = Math.max(1, Math.round(total / size));
  const started = process.hrtime.bigint();
  for (let b = 0; b < batches; b++) await store.writeBatch(batchOf(size, b * size));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await store.close();
  return { size, readingsPerSecond: (batches * size) / seconds, msPerBatch: (seconds * 1000) / batches };
}

async function main(): Promise<void> {
  if (!findExecutable('influxd')) throw new Error('influxd not found: apt-get install influxdb');
  const influxd = await startInfluxd();
  try {
    console.log(`InfluxDB store write rate, ${total} readings per batch size (2 metrics each), one batch in flight`);
    console.log('batch size | readings/s | points/s (points + history) | ms per batch');
    for (const size of SIZES) {
      const r = await measure(influxd.url, size);
      console.log(`${String(r.size).padStart(10)} | ${Math.round(r.readingsPerSecond).toLocaleString('en-US').padStart(10)} | ${Math.round(r.readingsPerSecond * 4).toLocaleString('en-US').padStart(27)} | ${r.msPerBatch.toFixed(1).padStart(12)}`);
    }
  } finally {
    await influxd.dispose();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
