// Fixed rate: --devices devices at --rate readings/s each (10,000 msg/s by
// default), published at QoS 1 and subscribed at QoS 1 by one subscriber of
// devices/+/telemetry. Latency is receive time minus send time on the shared
// clock, both kept at sub-millisecond resolution by the load processes and
// matched by device and seq afterwards: the payload's `ts` is whole
// milliseconds (the gateway's contract), too coarse for a sub-ms p50. The
// devices are lean-publisher.ts's raw sockets: two MQTT.js processes took
// 31-41 % of a core each, from the two cores the broker measured here runs on.
import { FIGURES, type RunResult } from '../figures.js';
import { deviceIds, split, type Transport } from '../loadgen/protocol.js';
import { joinLatencies, perSecond, summarizeLatency, sum } from '../stats.js';
import { ALL_TELEMETRY } from './fan-in.js';
import { runFlow } from './flow.js';
import { BOTH, LOAD_PROCESSES, type RunContext, type Scenario } from './scenario.js';

async function run(ctx: RunContext, transport: Transport): Promise<RunResult> {
  const { target, options } = ctx;
  const url = target.url(transport);
  const accounts = await target.devices(deviceIds(options.devices));
  const [watcher] = await target.watchers(1);
  const flow = await runFlow(ctx, {
    subscribers: [{ name: 'sub', role: { kind: 'subscribe', url, accounts: [watcher!], filter: ALL_TELEMETRY, qos: 1, recordReceives: true } }],
    publishers: split(accounts, LOAD_PROCESSES).map(({ items, first }) => ({
      name: 'pub',
      role: { kind: 'publish', url, accounts: items, firstIndex: first, qos: 1, mode: 'paced', rate: options.rate, window: 0, recordSends: true, lean: true },
    })),
  });
  const latencies = joinLatencies(flow.published.map((p) => p.sends), flow.received.map((r) => r.receives));
  const summary = summarizeLatency(latencies);
  const sentInWindow = sum(flow.published.map((p) => p.sentInWindow));
  return {
    figures: {
      [FIGURES.p50.name]: summary?.p50 ?? null,
      [FIGURES.p95.name]: summary?.p95 ?? null,
      [FIGURES.p99.name]: summary?.p99 ?? null,
      [FIGURES.max.name]: summary?.max ?? null,
      [FIGURES.received.name]: perSecond(sum(flow.received.map((r) => r.receivedInWindow)), flow.windowMs),
      [FIGURES.published.name]: perSecond(sentInWindow, flow.windowMs),
      // Of the readings sent in the window, the share that arrived (a late one counts; its latency is in max).
      [FIGURES.delivered.name]: sentInWindow > 0 ? (latencies.length / sentInWindow) * 100 : null,
    },
    cpu: flow.cpu,
  };
}

export const fixedRate: Scenario = {
  id: 'fixed-rate',
  variants: (options) =>
    options.transports.map((transport) => ({
      scenario: 'fixed-rate',
      label: '',
      transport,
      targets: BOTH,
      figures: [FIGURES.p99, FIGURES.p50, FIGURES.p95, FIGURES.max, FIGURES.received, FIGURES.published, FIGURES.delivered],
      run: (ctx) => run(ctx, transport),
    })),
};
