// Fan-out: one device publishes at QoS 0 as fast as its socket takes it;
// --clients subscribers of its topic (QoS 0, in two processes) receive every
// message. Deliveries/s is what all subscribers received per second together.
import { FIGURES, type RunResult } from '../figures.js';
import { deviceId, split, type Transport } from '../loadgen/protocol.js';
import { perSecond, sum } from '../stats.js';
import { runFlow } from './flow.js';
import { BOTH, LOAD_PROCESSES, type RunContext, type Scenario } from './scenario.js';

async function run(ctx: RunContext, transport: Transport): Promise<RunResult> {
  const { target, options } = ctx;
  const url = target.url(transport);
  const id = deviceId(0);
  const accounts = await target.devices([id]);
  const watchers = await target.watchers(options.clients);
  const flow = await runFlow(ctx, {
    subscribers: split(watchers, LOAD_PROCESSES).map(({ items }) => ({
      name: 'sub',
      role: { kind: 'subscribe', url, accounts: items, filter: `devices/${id}/telemetry`, qos: 0, recordReceives: false },
    })),
    publishers: [{
      name: 'pub',
      role: { kind: 'publish', url, accounts, firstIndex: 0, qos: 0, mode: 'flood', rate: 0, window: 0, recordSends: false },
    }],
  });
  const sent = sum(flow.published.map((p) => p.sent));
  const received = sum(flow.received.map((r) => r.received));
  return {
    figures: {
      [FIGURES.deliveries.name]: perSecond(sum(flow.received.map((r) => r.receivedInWindow)), flow.windowMs),
      [FIGURES.published.name]: perSecond(sum(flow.published.map((p) => p.sentInWindow)), flow.windowMs),
      [FIGURES.delivered.name]: sent > 0 ? (received / (sent * options.clients)) * 100 : null,
    },
    cpu: flow.cpu,
  };
}

export const fanOut: Scenario = {
  id: 'fan-out',
  variants: (options) =>
    options.transports.map((transport) => ({
      scenario: 'fan-out',
      label: '',
      transport,
      targets: BOTH,
      figures: [FIGURES.deliveries, FIGURES.published, FIGURES.delivered],
      run: (ctx) => run(ctx, transport),
    })),
};
