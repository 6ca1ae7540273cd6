// Opening many connections from one load process (MQTT.js clients, or
// lean-publisher.ts's raw sockets): a bounded number of handshakes at once,
// so neither broker's listen backlog overflows (a lost SYN costs a one-second
// retransmit and would measure the kernel, not the broker), and every failure
// counted instead of retried.
import type { Duplex } from 'node:stream';
import mqtt, { type MqttClient } from 'mqtt';
import { clock, type Account, type ConnectReport } from './protocol.js';

/** Handshakes in progress per load process. */
const CONCURRENT_CONNECTS = 64;
export const CONNECT_TIMEOUT_MS = 60_000;
const KEPT_ERRORS = 5;

export interface Connected<C> {
  /** null where the connection failed. */
  clients: (C | null)[];
  report: ConnectReport;
  /** Clients whose connection is still up. */
  open(): number;
}

/** Opens one connection; calls onClose when it goes down after it was up. */
export type Connector<C> = (account: Account, onClose: () => void) => Promise<C>;

type Chunks = Array<{ chunk: Buffer }>;

/**
 * One WebSocket frame per MQTT packet, as the browser build of MQTT.js and
 * other clients send. In Node, MQTT.js writes a PUBLISH as five chunks into
 * ws.createWebSocketStream, which has no _writev, so each chunk left as a
 * frame of its own: the brokers then read five frames per message, which
 * measured the load generator's client more than the broker's WebSocket
 * path. mqtt-packet corks the stream for each packet, so _writev gets the
 * packet's chunks together.
 */
function framePerPacket(stream: Duplex): void {
  const writable = stream as Duplex & {
    _write(chunk: Buffer, encoding: string, cb: (err?: Error | null) => void): void;
    _writev?: (chunks: Chunks, cb: (err?: Error | null) => void) => void;
  };
  writable._writev = (chunks, cb) => writable._write(Buffer.concat(chunks.map((c) => c.chunk)), 'buffer', cb);
}

function connectOne(url: string, account: Account, keepaliveS: number, onClose: () => void): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, {
      ...account,
      protocolVersion: 4,
      clean: true,
      keepalive: keepaliveS,
      reconnectPeriod: 0,
      connectTimeout: CONNECT_TIMEOUT_MS,
    });
    const fail = (err: Error) => {
      client.end(true);
      reject(err);
    };
    client.once('error', fail);
    client.once('close', () => fail(new Error('closed before CONNACK')));
    client.once('connect', () => {
      if (url.startsWith('ws')) framePerPacket(client.stream);
      client.removeAllListeners('error').removeAllListeners('close');
      // A broker that drops a client is seen in open(); the error itself must not crash the process.
      client.on('error', () => {});
      client.once('close', onClose);
      resolve(client);
    });
  });
}

/** MQTT.js clients (MQTT 3.1.1, clean session, no reconnect) for connectAll. */
export function mqttConnector(url: string, keepaliveS: number): Connector<MqttClient> {
  return (account, onClose) => connectOne(url, account, keepaliveS, onClose);
}

export async function connectAll<C>(accounts: readonly Account[], connect: Connector<C>): Promise<Connected<C>> {
  const started = clock();
  const cpuBefore = process.cpuUsage();
  const clients: (C | null)[] = new Array(accounts.length).fill(null);
  const errors = new Set<string>();
  let failed = 0;
  let closed = 0;
  let next = 0;
  const lane = async () => {
    while (next < accounts.length) {
      const i = next++;
      try {
        clients[i] = await connect(accounts[i]!, () => (closed += 1));
      } catch (err) {
        failed += 1;
        if (errors.size < KEPT_ERRORS) errors.add((err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENT_CONNECTS, accounts.length) }, lane));
  const connected = accounts.length - failed;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    clients,
    report: { connected, failed, errors: [...errors], seconds: (clock() - started) / 1000, cpuMs: (cpu.user + cpu.system) / 1000 },
    open: () => connected - closed,
  };
}
