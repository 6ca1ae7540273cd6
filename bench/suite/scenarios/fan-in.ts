// Fan-in: --clients devices publish telemetry as fast as they can to one
// subscriber of devices/+/telemetry, QoS 0 (paced only by the socket) and
// QoS 1 (a window of --inflight unacknowledged publishes per device, the
// subscription at QoS 1 too).
import { FIGURES, type RunResult } from '../figures.js';
import { deviceIds, split, type Qos } from '../loadgen/protocol.js';
import { perSecond, sum } from '../stats.js';
import { runFlow } from './flow.js';
import { BOTH, LOAD_PROCESSES, type RunContext, type Scenario, type Variant } from './scenario.js';

export const ALL_TELEMETRY = 'devices/+/telemetry';

async function run(ctx: RunContext, qos: Qos, transport: Variant['transport']): Promise<RunResult> {
  const { target, options } = ctx;
  const url = target.url(transport);
  const ids = deviceIds(options.clients);
  const accounts = await target.devices(ids);
  const [watcher] = await target.watchers(1);
  const flow = await runFlow(ctx, {
    subscribers: [{ name: 'sub', role: { kind: 'subscribe', url, accounts: [watcher!], filter: ALL_TELEMETRY, qos, recordReceives: false } }],
    publishers: split(accounts, LOAD_PROCESSES).map(({ items, first }) => ({
      name: 'pub',
      role: { kind: 'publish', url, accounts: items, firstIndex: first, qos, mode: 'flood', rate: 0, window: options.inflight, recordSends: false },
    })),
  });
  const sent = sum(flow.published.map((p) => p.sent));
  const acked = sum(flow.published.map((p) => p.acked));
  const received = sum(flow.received.map((r) => r.received));
  return {
    figures: {
      [FIGURES.received.name]: perSecond(sum(flow.received.map((r) => r.receivedInWindow)), flow.windowMs),
      [qos === 1 ? FIGURES.acknowledged.name : FIGURES.published.name]: perSecond(
        sum(flow.published.map((p) => (qos === 1 ? p.ackedInWindow : p.sentInWindow))), flow.windowMs),
      [FIGURES.delivered.name]: sent > 0 ? (received / sent) * 100 : null,
      [FIGURES.stored.name]: flow.storedInWindow === null ? null : perSecond(flow.storedInWindow, flow.windowMs),
      // More stored than acknowledged (an ack still on its way at the end) is no loss.
      [FIGURES.lost.name]: qos === 1 && flow.storedTotal !== null ? Math.max(0, acked - flow.storedTotal) : null,
    },
    cpu: flow.cpu,
  };
}

export const fanIn: Scenario = {
  id: 'fan-in',
  variants: (options) =>
    ([0, 1] as const).flatMap((qos) =>
      options.transports.map((transport): Variant => ({
        scenario: 'fan-in',
        label: `QoS ${qos}`,
        transport,
        targets: BOTH,
        figures: qos === 1
          ? [FIGURES.received, FIGURES.acknowledged, FIGURES.delivered, FIGURES.stored, FIGURES.lost]
          : [FIGURES.received, FIGURES.published, FIGURES.delivered, FIGURES.stored],
        run: (ctx) => run(ctx, qos, transport),
      }))),
};
