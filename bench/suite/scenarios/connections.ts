// Idle connections: how much resident memory the broker adds per idle
// device connection (idle, --idle of them, TCP and WebSocket), and whether
// it holds --hold of them at once (hold, TCP: the file-descriptor target).
// The growth is read twice: as it is, and after a full GC of the gateway's
// heap (Mosquitto has no collector: the same figure twice). The second is
// what the connections hold; the first also counts the connects' garbage,
// which V8 keeps until its next full collection.
// Connections are opened from several processes, as one process's fd limit
// (20,000 here) is below what is asked of the broker.
import { setTimeout as sleep } from 'node:timers/promises';
import { procSample } from '../../proc.js';
import { FIGURES, type RunResult } from '../figures.js';
import { closeLoad, connectLoad, forkLoad } from '../loadgen/pool.js';
import { deviceIds, split, type IdleReport, type Transport } from '../loadgen/protocol.js';
import { cpuPercent, sum } from '../stats.js';
import { BOTH, LOAD_PROCESSES, type RunContext, type Scenario } from './scenario.js';

/** Connections per load process at most: well below its fd limit of 20,000. */
const PER_PROCESS = 15_000;
const KEEPALIVE_S = 60;
/** Before reading RSS: the registrations' garbage and the connections' first buffers settle. */
const SETTLE_MS = 2_000;

async function run(ctx: RunContext, transport: Transport, count: number, holdMs: number): Promise<RunResult> {
  const { target, reaper } = ctx;
  const url = target.url(transport);
  const accounts = await target.devices(deviceIds(count));
  await sleep(SETTLE_MS);
  // From a collected heap, so the registrations' garbage is not counted either way.
  await target.collectGarbage();
  const before = procSample(target.pid);
  const runs = split(accounts, Math.max(LOAD_PROCESSES, Math.ceil(count / PER_PROCESS)));
  const load = forkLoad(reaper, runs.map(() => 'conn'));
  try {
    await connectLoad(load, runs.map(({ items }) => ({ kind: 'idle', url, accounts: items, keepaliveS: KEEPALIVE_S })), true);
    const brokerCpuMs = procSample(target.pid).cpuMs - before.cpuMs;
    await sleep(Math.max(SETTLE_MS, holdMs));
    const after = procSample(target.pid);
    await target.collectGarbage();
    const collected = procSample(target.pid);
    const held = sum((await Promise.all(load.map((p) => p.report<IdleReport>()))).map((r) => r.open));
    const reports = load.map((p) => p.connected!);
    const failed = sum(reports.map((r) => r.failed));
    if (failed > 0) ctx.log(`  ${failed} of ${count} connections failed: ${reports.flatMap((r) => r.errors).slice(0, 3).join('; ')}`);
    const connected = count - failed;
    // The processes connect in parallel once loaded; the slowest one's time is the ramp's.
    const rampSeconds = Math.max(...reports.map((r) => r.seconds));
    const grownBytes = after.rssBytes - before.rssBytes;
    const retainedBytes = collected.rssBytes - before.rssBytes;
    return {
      figures: {
        [FIGURES.kibPerConnection.name]: held > 0 ? grownBytes / 1024 / held : null,
        [FIGURES.kibRetained.name]: held > 0 ? retainedBytes / 1024 / held : null,
        [FIGURES.rssBefore.name]: before.rssBytes / 2 ** 20,
        [FIGURES.rssAfter.name]: after.rssBytes / 2 ** 20,
        [FIGURES.connectRate.name]: connected / rampSeconds,
        [FIGURES.held.name]: held,
        [FIGURES.perGib.name]: grownBytes > 0 ? (2 ** 30 / grownBytes) * held : null,
      },
      // CPU while connecting: the only busy part of an idle run.
      cpu: {
        broker: cpuPercent(brokerCpuMs, rampSeconds * 1000),
        load: reports.map((r) => ({ role: 'conn', percent: cpuPercent(r.cpuMs, r.seconds * 1000) })),
      },
    };
  } finally {
    await closeLoad(load);
  }
}

export const idle: Scenario = {
  id: 'idle',
  variants: (options) =>
    options.transports.map((transport) => ({
      scenario: 'idle',
      label: '',
      transport,
      targets: BOTH,
      figures: [FIGURES.kibRetained, FIGURES.kibPerConnection, FIGURES.rssBefore, FIGURES.rssAfter, FIGURES.perGib, FIGURES.connectRate],
      run: (ctx) => run(ctx, transport, options.idle, 0),
    })),
};

export const hold: Scenario = {
  id: 'hold',
  // The target is about devices, and devices connect over TCP; WebSocket connections cost the same descriptor.
  variants: (options) => options.transports.includes('tcp')
    ? [{
      scenario: 'hold',
      label: '',
      transport: 'tcp',
      targets: BOTH,
      figures: [FIGURES.held, FIGURES.kibRetained, FIGURES.kibPerConnection, FIGURES.perGib, FIGURES.connectRate],
      run: (ctx) => run(ctx, 'tcp', options.hold, options.seconds * 1000),
    }]
    : [],
};
