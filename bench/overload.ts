// Open overload: 100 publishers as fast as they can to one subscriber of
// devices/+/telemetry, no end-to-end window. Prints what the gateway routed,
// shed and stored, its peak memory and how long it took to drain once the
// load stopped. Usage: npm run build && npx tsx bench/overload.ts [--qos 0|1] [--seconds 10] [--transport tcp|ws] [--publishers 100]
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { startGatewayProcess } from './gateway-process.js';

const { values } = parseArgs({
  options: {
    qos: { type: 'string', default: '0' },
    seconds: { type: 'string', default: '10' },
    transport: { type: 'string', default: 'tcp' },
    publishers: { type: 'string', default: '100' },
  },
});
const qos = Number(values.qos) as 0 | 1;
const seconds = Number(values.seconds);
const count = Number(values.publishers);

// Limits that protect against one client (the per-connection rate) are lifted: this measures the whole gateway under load.
const gw = await startGatewayProcess({ AUTH: 'off', PUBLISH_RATE: '1000000', PUBLISH_BURST: '1000000', CONNECT_RATE_PER_CLIENT: '1000' });
const url = values.transport === 'ws' ? `${gw.httpUrl.replace('http', 'ws')}/mqtt` : gw.mqttUrl;

const subscriber = await mqtt.connectAsync(url, { clientId: 'overload-sub', reconnectPeriod: 0 });
let delivered = 0;
subscriber.on('message', () => (delivered += 1));
await subscriber.subscribeAsync('devices/+/telemetry', { qos });
const publishers = await Promise.all(Array.from({ length: count }, (_, i) => mqtt.connectAsync(url, { clientId: `overload-${i}`, reconnectPeriod: 0 })));

let acked = 0;
let peak = 0;
const monitor = setInterval(() => (peak = Math.max(peak, gw.rssBytes())), 100);
const stopAt = Date.now() + seconds * 1000;
await Promise.all(publishers.map(async (client, i) => {
  const topic = `devices/overload-${i}/telemetry`;
  let seq = 0;
  const body = () => JSON.stringify({ seq: ++seq, metrics: { t: seq } });
  if (qos === 0) {
    while (Date.now() < stopAt) {
      for (let k = 0; k < 100; k++) client.publish(topic, body(), { qos: 0 });
      await new Promise((resolve) => setImmediate(resolve));
    }
    return;
  }
  await Promise.all(Array.from({ length: 50 }, async () => {
    while (Date.now() < stopAt) {
      await client.publishAsync(topic, body(), { qos: 1 });
      acked += 1;
    }
  }));
}));

// The load stops; whatever the publishers still had buffered goes with their sockets.
for (const client of publishers) client.stream.destroy();
// Recovered: a fresh device's reading reaches the subscriber within 50 ms, five times in a row.
const probe = await mqtt.connectAsync(url, { clientId: 'overload-probe', reconnectPeriod: 0 });
const sentAt = new Map<string, number>();
let fastInARow = 0;
subscriber.on('message', (topic, payload) => {
  if (topic !== 'devices/overload-probe/telemetry') return;
  const started = sentAt.get(payload.toString());
  if (started !== undefined) fastInARow = Date.now() - started < 50 ? fastInARow + 1 : 0;
});
const stopped = Date.now();
let recoveredMs = -1;
for (let seq = 1; Date.now() - stopped < 60_000; seq++) {
  const body = JSON.stringify({ seq, metrics: { t: seq } });
  sentAt.set(body, Date.now());
  probe.publish('devices/overload-probe/telemetry', body, { qos: 1 });
  await sleep(100);
  if (fastInARow >= 5) {
    recoveredMs = Date.now() - stopped;
    break;
  }
}
await probe.endAsync(true);
clearInterval(monitor);
const final = await gw.stats();
await subscriber.endAsync(true);
const exit = await gw.stop();

const rows: Array<[string, string | number]> = [
  ['transport / QoS', `${values.transport} / ${qos}`],
  ['load', `${count} publishers for ${seconds} s`],
  ['routed to the subscriber', delivered],
  ['routed per second', Math.round(delivered / seconds)],
  ['QoS 0 shed at the edge (counted)', final.dropped.overload ?? 0],
  ['QoS 1 acknowledged', qos === 1 ? acked : '-'],
  ['readings stored', final.readings.stored],
  ['QoS 1 lost (acknowledged - stored)', qos === 1 ? acked - final.readings.stored : '-'],
  ['peak RSS, MiB', Math.round(peak / 2 ** 20)],
  ['back to normal latency after the load stopped, ms', recoveredMs],
  ['gateway exit code', String(exit)],
];
console.log('| figure | value |\n|---|---|');
for (const [name, value] of rows) console.log(`| ${name} | ${value} |`);
