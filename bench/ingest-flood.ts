// How many readings per second reach SQLite when 100 devices publish QoS 1 as
// fast as their in-flight window allows, and whether every acknowledged one
// was stored. Usage: npm run build && npx tsx bench/ingest-flood.ts [--devices 100] [--seconds 10] [--inflight 20]
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { telemetryTopic } from '../broker/contract/topics.js';
import { startGatewayProcess } from './gateway-process.js';
import { metricValue } from './proc.js';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '10' },
    inflight: { type: 'string', default: '20' },
  },
});
const devices = Number(values.devices);
const seconds = Number(values.seconds);
const inflight = Number(values.inflight);

// Anonymous devices, and the per-connection publish limit lifted: it would measure itself, not ingest.
const gw = await startGatewayProcess({ AUTH: 'off', PUBLISH_RATE: '1000000', PUBLISH_BURST: '1000000' });
const clients = await Promise.all(
  Array.from({ length: devices }, (_, i) => mqtt.connectAsync(gw.mqttUrl, { clientId: `flood-${i}`, reconnectPeriod: 0 })),
);
let acked = 0;
let published = 0;
const cpuBefore = gw.cpuMs();
const loadCpuBefore = process.cpuUsage();
const started = Date.now();
const stopAt = started + seconds * 1000;

await Promise.all(clients.map(async (client, i) => {
  const topic = telemetryTopic(`flood-${i}`);
  let seq = 0;
  const lane = async () => {
    while (Date.now() < stopAt) {
      seq += 1;
      published += 1;
      await client.publishAsync(topic, JSON.stringify({ ts: Date.now(), seq, metrics: { temperature: 20 + (seq % 100) / 10, humidity: 40 } }), { qos: 1 });
      acked += 1;
    }
  };
  await Promise.all(Array.from({ length: inflight }, lane));
}));
const publishSeconds = (Date.now() - started) / 1000;
const gatewayCpu = gw.cpuMs() - cpuBefore;
const load = process.cpuUsage(loadCpuBefore);

let stored = 0;
const waitUntil = Date.now() + 30_000;
while ((stored = await metricValue(gw.httpUrl, 'gateway_readings_stored_total')) < acked && Date.now() < waitUntil) await sleep(100);
const drainedSeconds = (Date.now() - started) / 1000;
const rss = gw.rssBytes();
await Promise.all(clients.map((c) => c.endAsync()));
const exitCode = await gw.stop();

const rows = [
  ['devices', devices],
  ['in-flight per device', inflight],
  ['published (QoS 1)', published],
  ['acknowledged', acked],
  ['stored', stored],
  ['lost (acknowledged - stored)', acked - stored],
  ['acknowledged/s', Math.round(acked / publishSeconds)],
  ['stored/s (until all stored)', Math.round(stored / drainedSeconds)],
  ['gateway CPU, % of one core', Math.round((gatewayCpu / (publishSeconds * 1000)) * 100)],
  ['load generator CPU, % of one core', Math.round(((load.user + load.system) / 1000 / (publishSeconds * 1000)) * 100)],
  ['gateway RSS at end, MiB', Math.round(rss / 2 ** 20)],
  ['gateway exit code', exitCode],
];
console.log('| figure | value |\n|---|---|');
for (const [name, value] of rows) console.log(`| ${name} | ${value} |`);
