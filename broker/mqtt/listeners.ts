// Thin transport adapters onto the one broker (STYLE.md §2): MQTT over TCP
// (and TLS when a certificate is configured) on their own ports, MQTT over
// WebSocket at /mqtt on the HTTP server, so a browser needs a single origin.
import net from 'node:net';
import tls from 'node:tls';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Aedes, Client } from 'aedes';
import { WebSocketServer } from 'ws';
import type { Metrics } from '../metrics.js';
import { WebSocketStream } from './ws-stream.js';

export const MQTT_WS_PATH = '/mqtt';
/**
 * Per-socket write buffer before write() reports backpressure. Well above
 * SLOW_SUBSCRIBER_BYTES, so the broker drops messages for a slow subscriber
 * before aedes would block a delivery slot waiting for its drain.
 */
const SOCKET_HIGH_WATER_MARK = 4 * 2 ** 20;

export interface ListenerOptions {
  broker: Aedes;
  httpServer: HttpServer;
  host: string;
  mqttPort: number;
  /** MQTT over TLS, when a certificate is configured. */
  mqtts?: { port: number; cert: Buffer; key: Buffer };
  maxPacketBytes: number;
  /** Browser origins allowed besides the gateway's own. */
  allowedOrigins: readonly string[];
  metrics: Metrics;
}

export interface Listeners {
  /** Bound TCP address (the real port when 0 was asked for). */
  mqtt: net.AddressInfo;
  mqtts: net.AddressInfo | null;
  /** Stops accepting connections and drops the WebSocket ones. */
  close(): Promise<void>;
}

type GuardedParser = { packet: { length: number }; _parseLength(): boolean; _emitError(err: Error): void };

/**
 * Refuses a packet as soon as its fixed header announces more than `max`
 * bytes, before the body is buffered. mqtt-packet has no such limit for
 * MQTT 3.1.1, so this wraps the client's parser step that reads the length.
 */
function guardPacketSize(client: Client, max: number, metrics: Metrics): void {
  const parser = (client as unknown as { _parser: GuardedParser })._parser;
  const parseLength = parser._parseLength;
  parser._parseLength = function guardedParseLength(this: GuardedParser) {
    const complete = parseLength.call(this);
    if (complete && this.packet.length > max) {
      metrics.mqttOversized.inc();
      this._emitError(new Error(`packet of ${this.packet.length} bytes exceeds MAX_PACKET_BYTES ${max}`));
      return false;
    }
    return complete;
  };
}

/**
 * Raises only the write side's mark: Node's server options set both sides, and
 * a 4 MiB read mark would hand aedes tens of thousands of packets per read.
 * net.Server constructs the sockets, so the state is set after the fact.
 *
 * And disables Nagle's algorithm, as `ws` does for the WebSocket path and
 * brokers such as EMQX and VerneMQ do by default: a PUBACK or a delivery is a
 * few bytes that must leave now, and with Nagle one written while the peer
 * had not yet acknowledged the last waits for that acknowledgement, which a
 * peer's delayed ACK can hold for up to 40 ms. With 1,000 devices at 10
 * readings/s, two alternated pairs of runs had the event loop's p99 delay at
 * 35-44 ms with Nagle off against 74-147 ms with it on (README "Performance").
 */
function tuneSocket(socket: net.Socket): net.Socket {
  (socket as unknown as { _writableState: { highWaterMark: number } })._writableState.highWaterMark = SOCKET_HIGH_WATER_MARK;
  socket.setNoDelay(true);
  return socket;
}

function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** Non-browser clients send no Origin; a browser's must be the gateway's own host or an allowed one. */
export function originAllowed(origin: string | undefined, host: string | undefined, allowed: readonly string[]): boolean {
  if (origin === undefined) return true;
  if (allowed.includes(origin)) return true;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

function listen(server: net.Server, port: number, host: string): Promise<net.AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as net.AddressInfo);
    });
  });
}

export async function startListeners(opts: ListenerOptions): Promise<Listeners> {
  const { broker, httpServer, maxPacketBytes, metrics } = opts;
  const handle = (stream: Duplex, req?: IncomingMessage) => {
    guardPacketSize(broker.handle(stream, req), maxPacketBytes, metrics);
  };

  const tcp = net.createServer((socket) => handle(tuneSocket(socket)));
  const servers: net.Server[] = [tcp];
  const mqtt = await listen(tcp, opts.mqttPort, opts.host);
  let mqtts: net.AddressInfo | null = null;
  if (opts.mqtts) {
    const secure = tls.createServer({ cert: opts.mqtts.cert, key: opts.mqtts.key }, (socket) => handle(tuneSocket(socket)));
    servers.push(secure);
    mqtts = await listen(secure, opts.mqtts.port, opts.host);
  }

  const wss = new WebSocketServer({ noServer: true, maxPayload: maxPacketBytes + 8 });
  wss.on('connection', (ws, req: IncomingMessage) => handle(new WebSocketStream(ws, SOCKET_HIGH_WATER_MARK), req));
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    if (pathname !== MQTT_WS_PATH) return refuseUpgrade(socket, 404, 'Not Found');
    if (!originAllowed(req.headers.origin, req.headers.host, opts.allowedOrigins)) return refuseUpgrade(socket, 403, 'Forbidden');
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  };
  httpServer.on('upgrade', onUpgrade);

  return {
    mqtt,
    mqtts,
    async close() {
      httpServer.off('upgrade', onUpgrade);
      for (const ws of wss.clients) ws.terminate();
      await Promise.all([
        new Promise<void>((resolve) => wss.close(() => resolve())),
        ...servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
      ]);
    },
  };
}
