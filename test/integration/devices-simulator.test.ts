// One simulated device against a bare aedes broker: what the device itself
// promises (identity, will, keepalive, buffering, backoff), independent of the gateway.
import net from 'node:net';
import { Aedes, type ConnectPacket } from 'aedes';
import { afterEach, describe, expect, it } from 'vitest';
import { thermostat } from '../../devices/profiles.js';
import { mulberry32 } from '../../devices/rng.js';
import { Scheduler } from '../../devices/scheduler.js';
import { createCounters, type DeviceOptions } from '../../devices/device-options.js';
import { DeviceSimulator } from '../../devices/simulator.js';
import { startFleet, type Fleet } from '../../devices/fleet.js';

interface Received { clientId: string; topic: string; seq: number | undefined; ts: number | undefined; at: number }

/** A bare broker that records CONNECT packets, connection times and every publish. */
async function startBroker(port = 0) {
  const connects: ConnectPacket[] = [];
  const connectedAt: number[] = [];
  const received: Received[] = [];
  const broker = await Aedes.createBroker({
    preConnect(_client, packet, callback) {
      connects.push(packet);
      callback(null, true);
    },
  });
  broker.on('client', () => connectedAt.push(Date.now()));
  broker.on('publish', (packet, client) => {
    if (!/^devices\/[^/]+\/telemetry$/.test(packet.topic) && !packet.topic.endsWith('/status')) return;
    let body: { seq?: number; ts?: number } = {};
    try {
      body = JSON.parse(packet.payload.toString()) as typeof body;
    } catch { /* malformed on purpose */ }
    received.push({ clientId: client?.id ?? '', topic: packet.topic, seq: body.seq, ts: body.ts, at: Date.now() });
  });
  const server = net.createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actualPort = (server.address() as net.AddressInfo).port;
  return {
    broker, connects, connectedAt, received, port: actualPort, url: `mqtt://127.0.0.1:${actualPort}`,
    /** Stops accepting first, so a device reconnecting meanwhile cannot land on a closed broker. */
    async close() {
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await serverClosed;
    },
  };
}
type Broker = Awaited<ReturnType<typeof startBroker>>;

async function waitFor(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function device(url: string, over: Partial<DeviceOptions> = {}) {
  const scheduler = new Scheduler();
  const counters = createCounters();
  const sim = new DeviceSimulator({
    id: 'dev-0001', url, profile: thermostat, profileRng: mulberry32(1), rng: mulberry32(2), timer: scheduler, counters,
    intervalMs: 20, jitter: 0, qos: 1, bufferSize: 1000, backoff: { baseMs: 50, maxMs: 200 }, ...over,
  });
  cleanups.push(async () => {
    await sim.stop();
    scheduler.close();
  });
  return { sim, counters };
}

describe('one simulated device', () => {
  it('connects as itself with its secret, a keepalive and a last will, which the broker sends when the socket dies', async () => {
    const b = await startBroker();
    cleanups.push(b.close);
    const { sim } = device(b.url, { secret: 's3cret', keepaliveS: 15 });
    sim.start();
    await waitFor(() => sim.connected, 5000, 'connect');
    const packet = b.connects[0]!;
    expect(packet.clientId).toBe('dev-0001');
    expect(packet.username).toBe('dev-0001');
    expect(packet.password?.toString()).toBe('s3cret');
    expect(packet.keepalive).toBe(15);
    expect(packet.will?.topic).toBe('devices/dev-0001/status');

    sim.drop();
    await waitFor(() => b.received.some((r) => r.topic === 'devices/dev-0001/status'), 5000, 'the last will');
    await waitFor(() => b.connects.length === 2, 5000, 'a reconnect');
  });

  it('buffers readings while the broker is down and sends them after it is back on the same port, original ts and seq, no gap', async () => {
    let b: Broker = await startBroker();
    const port = b.port;
    const { sim, counters } = device(b.url);
    sim.start();
    await waitFor(() => b.received.length >= 10, 5000, 'first readings');
    const before = b.received;
    await b.close();
    await waitFor(() => counters.produced - counters.acknowledged >= 30, 5000, 'readings made offline');
    expect(sim.buffered).toBeGreaterThan(0);
    // Seqs 0..made-1 were made before the restart. (Not "ts before the restart": a reading made in
    // the same millisecond as that timestamp was left out, and CI once counted 29.)
    const made = counters.produced;
    b = await startBroker(port);
    cleanups.push(() => b.close());
    await waitFor(() => sim.connected && sim.buffered === 0 && b.received.length > 40, 5000, 'the backlog');

    const telemetry = [...before, ...b.received].filter((r) => r.topic.endsWith('/telemetry'));
    const seqs = [...new Set(telemetry.map((r) => r.seq!))].sort((x, y) => x - y);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i));
    const replayed = b.received.filter((r) => r.topic.endsWith('/telemetry') && r.seq! < made);
    expect(replayed.length).toBeGreaterThanOrEqual(30);
    // Sent in order: the backlog first, oldest first.
    const firstSeqs = b.received.filter((r) => r.topic.endsWith('/telemetry')).map((r) => r.seq!);
    expect(firstSeqs).toEqual([...firstSeqs].sort((x, y) => x - y));
    expect(counters.reconnects).toBe(1);
  });

  it('keeps only the newest readings when the buffer overflows, and counts what it dropped', async () => {
    let b: Broker = await startBroker();
    const port = b.port;
    const { sim, counters } = device(b.url, { bufferSize: 5 });
    sim.start();
    await waitFor(() => sim.connected, 5000, 'connect');
    await b.close();
    await waitFor(() => counters.dropped >= 10, 5000, 'overflow');
    b = await startBroker(port);
    cleanups.push(() => b.close());
    await waitFor(() => sim.connected && b.received.filter((r) => r.topic.endsWith('/telemetry')).length >= 5, 5000, 'the backlog');
    const backlog = b.received.filter((r) => r.topic.endsWith('/telemetry')).slice(0, 5).map((r) => r.seq!);
    // Five consecutive readings, the newest of the outage, not the first five after the drop.
    expect(backlog.map((s) => s - backlog[0]!)).toEqual([0, 1, 2, 3, 4]);
    // At least ten were dropped before them; exactly ten when the device had published nothing before the outage.
    expect(backlog[0]).toBeGreaterThanOrEqual(10);
  });
});

describe('a fleet losing its broker', () => {
  const fleets: Fleet[] = [];
  afterEach(async () => {
    await Promise.all(fleets.splice(0).map((f) => f.stop()));
  });

  async function restartSpread(options: { storm: boolean }): Promise<number[]> {
    const b = await startBroker();
    cleanups.push(b.close);
    const count = 60;
    const fleet = await startFleet({
      url: b.url, count, rate: 2, ramp: 0, backoff: { baseMs: 2000, maxMs: 4000 },
      ...(options.storm ? { stormEveryMs: 1500 } : { disconnectEveryMs: undefined }),
    });
    fleets.push(fleet);
    await waitFor(() => fleet.stats().connected === count, 5000, 'all connected');
    const mark = b.connectedAt.length;
    const droppedAt = Date.now();
    if (!options.storm) {
      // The broker kicks everyone at once, as a gateway restart would.
      for (const client of Object.values((b.broker as unknown as { clients: Record<string, { conn: net.Socket }> }).clients)) client.conn.destroy();
    }
    await waitFor(() => b.connectedAt.length - mark >= count, 8000, 'all back');
    return b.connectedAt.slice(mark, mark + count).map((t) => t - (options.storm ? b.connectedAt[mark]! : droppedAt));
  }

  it('comes back spread over the backoff window, not in the same instant', async () => {
    const delays = await restartSpread({ storm: false });
    const spread = Math.max(...delays) - Math.min(...delays);
    expect(spread).toBeGreaterThan(1000);
    // No 100 ms slice holds more than a fifth of the fleet.
    const slices = new Map<number, number>();
    for (const d of delays) slices.set(Math.floor(d / 100), (slices.get(Math.floor(d / 100)) ?? 0) + 1);
    expect(Math.max(...slices.values())).toBeLessThan(delays.length / 5);
  });

  it('--storm brings every device back at once, ignoring backoff', async () => {
    const delays = await restartSpread({ storm: true });
    expect(Math.max(...delays)).toBeLessThan(500);
  });
});
