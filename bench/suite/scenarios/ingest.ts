// Ingest: --clients devices publish at QoS 1 as fast as their --inflight
// window allows, nobody subscribed; the figure is readings stored per second,
// in SQLite and in InfluxDB, and whether every acknowledged reading was
// stored. The gateway acknowledges only what is stored or spooled, so lost
// should be 0 and the acknowledged rate follows the store. Gateway only:
// Mosquitto stores nothing.
//
// The devices publish through lean-publisher.ts's raw sockets, not MQTT.js,
// over TCP and WebSocket alike: the load processes share this machine's two
// cores with the gateway, and MQTT.js cost more CPU per reading (~19 µs over
// TCP) than the gateway's event loop (~14 µs), so the generator held down the
// rate it measured.
import { FIGURES, type RunResult } from '../figures.js';
import { deviceIds, split, type Transport } from '../loadgen/protocol.js';
import { perSecond, sum } from '../stats.js';
import { runFlow } from './flow.js';
import { LOAD_PROCESSES, type RunContext, type Scenario, type Variant } from './scenario.js';

async function run(ctx: RunContext, transport: Transport): Promise<RunResult> {
  const { target, options } = ctx;
  const url = target.url(transport);
  const accounts = await target.devices(deviceIds(options.clients));
  const flow = await runFlow(ctx, {
    subscribers: [],
    publishers: split(accounts, LOAD_PROCESSES).map(({ items, first }) => ({
      name: 'pub',
      role: { kind: 'publish', url, accounts: items, firstIndex: first, qos: 1, mode: 'flood', rate: 0, window: options.inflight, recordSends: false, lean: true },
    })),
  });
  const acked = sum(flow.published.map((p) => p.acked));
  return {
    figures: {
      [FIGURES.stored.name]: flow.storedInWindow === null ? null : perSecond(flow.storedInWindow, flow.windowMs),
      [FIGURES.acknowledged.name]: perSecond(sum(flow.published.map((p) => p.ackedInWindow)), flow.windowMs),
      [FIGURES.lost.name]: flow.storedTotal === null ? null : Math.max(0, acked - flow.storedTotal),
    },
    cpu: flow.cpu,
  };
}

export const ingest: Scenario = {
  id: 'ingest',
  variants: (options, services) => {
    let database = 0;
    const stores: { label: string; env?: () => Promise<Record<string, string>> }[] = [{ label: 'SQLite' }];
    if (services.hasInflux) {
      // A fresh database per gateway start, so every run writes into an empty one as the SQLite runs do.
      stores.push({ label: 'InfluxDB', env: async () => ({ STORE: 'influxdb', INFLUX_URL: await services.influx(), INFLUX_DATABASE: `bench_${++database}` }) });
    }
    return stores.flatMap(({ label, env }) =>
      options.transports.map((transport): Variant => ({
        scenario: 'ingest',
        label,
        transport,
        targets: ['gateway'],
        figures: [FIGURES.stored, FIGURES.acknowledged, FIGURES.lost],
        ...(env ? { gatewayEnv: env } : {}),
        run: (ctx) => run(ctx, transport),
      })));
  },
};
