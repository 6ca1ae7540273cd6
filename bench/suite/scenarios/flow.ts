// A message-flow run shared by fan-in, fixed rate, fan-out and ingest:
// subscribers connect and subscribe, then publishers connect, then everyone
// runs one window (warm-up, then the measured seconds) on the shared clock.
// CPU and the gateway's stored counter are sampled at the measured window's
// edges; afterwards subscribers drain and the store catches up.
import { setTimeout as sleep } from 'node:timers/promises';
import { procSample } from '../../proc.js';
import type { CpuFigures } from '../figures.js';
import { closeLoad, connectLoad, forkLoad, type LoadProcess } from '../loadgen/pool.js';
import { clock, type PublishReport, type PublishRole, type SubscribeReport, type SubscribeRole, type Window } from '../loadgen/protocol.js';
import { warmupSeconds } from '../options.js';
import { cpuPercent, sum } from '../stats.js';
import { START_DELAY_MS, type RunContext, type Target } from './scenario.js';

/** A subscriber is drained when its count has not moved for this long. */
const QUIET_MS = 500;
const DRAIN_MAX_MS = 10_000;
/** How long the store may take to catch up with what was acknowledged. */
const STORE_SETTLE_MAX_MS = 30_000;

export interface FlowPlan {
  subscribers: { name: string; role: SubscribeRole }[];
  publishers: { name: string; role: PublishRole }[];
}

export interface FlowOutcome {
  windowMs: number;
  published: PublishReport[];
  /** With receive times (full reports). */
  received: SubscribeReport[];
  /** The gateway's stored counter: its rise during the window, and its total once settled; null for Mosquitto. */
  storedInWindow: number | null;
  storedTotal: number | null;
  cpu: CpuFigures;
}

interface Sample {
  at: number;
  cpuMs: number[];
  stored: number | null;
}

/** CPU of the broker and each load process, and the stored counter, at time `t`. */
async function sampleAt(t: number, target: Target, load: readonly LoadProcess[]): Promise<Sample> {
  await sleep(Math.max(0, t - clock()));
  const at = clock();
  const cpuMs = [procSample(target.pid).cpuMs, ...load.map((p) => p.cpuMs())];
  return { at, cpuMs, stored: await target.stored() };
}

function cpuBetween(first: Sample, last: Sample, load: readonly LoadProcess[]): CpuFigures {
  const wall = last.at - first.at;
  const pct = (i: number) => cpuPercent(last.cpuMs[i]! - first.cpuMs[i]!, wall);
  return { broker: pct(0), load: load.map((p, i) => ({ role: p.name, percent: pct(i + 1) })) };
}

async function drain(subscribers: readonly LoadProcess[]): Promise<SubscribeReport[]> {
  if (subscribers.length === 0) return [];
  const deadline = clock() + DRAIN_MAX_MS;
  let last = -1;
  for (;;) {
    const counts = await Promise.all(subscribers.map((s) => s.report<SubscribeReport>()));
    const total = sum(counts.map((c) => c.received));
    if (total === last || clock() > deadline) break;
    last = total;
    await sleep(QUIET_MS);
  }
  return Promise.all(subscribers.map((s) => s.report<SubscribeReport>(true)));
}

/** Waits until the stored counter reaches `expected` (QoS 1: everything acknowledged) or, without one, stops moving. */
async function settleStored(target: Target, expected: number | null): Promise<number | null> {
  const deadline = clock() + STORE_SETTLE_MAX_MS;
  let stored = await target.stored();
  if (stored === null) return null;
  for (;;) {
    if (expected !== null && stored >= expected) return stored;
    if (clock() > deadline) return stored;
    await sleep(QUIET_MS);
    const now: number = (await target.stored())!;
    if (expected === null && now === stored) return stored;
    stored = now;
  }
}

export async function runFlow(ctx: RunContext, plan: FlowPlan): Promise<FlowOutcome> {
  const { reaper, target, options } = ctx;
  const load = forkLoad(reaper, [...plan.subscribers, ...plan.publishers].map((p) => p.name));
  try {
    const subscribers = load.slice(0, plan.subscribers.length);
    const publishers = load.slice(plan.subscribers.length);
    await connectLoad(subscribers, plan.subscribers.map((s) => s.role));
    await connectLoad(publishers, plan.publishers.map((p) => p.role));

    const startAt = clock() + START_DELAY_MS;
    const measureFrom = startAt + warmupSeconds(options.seconds) * 1000;
    const window: Window = { startAt, measureFrom, endAt: measureFrom + options.seconds * 1000 };
    await Promise.all(subscribers.map((s) => s.run(window)));
    const publishing = Promise.all(publishers.map((p) => p.run(window) as Promise<PublishReport>));
    // Awaited below; until then a publisher dying must not count as an unhandled rejection.
    publishing.catch(() => {});
    const first = await sampleAt(window.measureFrom, target, load);
    const last = await sampleAt(window.endAt, target, load);
    const published = await publishing;
    const received = await drain(subscribers);
    const qos1 = plan.publishers.every((p) => p.role.qos === 1);
    const storedTotal = await settleStored(target, qos1 ? sum(published.map((p) => p.acked)) : null);
    return {
      windowMs: last.at - first.at,
      published,
      received,
      storedInWindow: first.stored !== null && last.stored !== null ? last.stored - first.stored : null,
      storedTotal,
      cpu: cpuBetween(first, last, load),
    };
  } finally {
    await closeLoad(load);
  }
}
