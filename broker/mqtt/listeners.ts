// Thin transport adapters onto the one broker (STYLE.md §2): MQTT over TCP on
// its own port, MQTT over WebSocket at /mqtt on the HTTP server, so a browser
// needs a single origin for the API and the live path.
import net from 'node:net';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Aedes } from 'aedes';
import websocketStream from 'websocket-stream';
import { WebSocketServer } from 'ws';

export const MQTT_WS_PATH = '/mqtt';

export interface ListenerOptions {
  broker: Aedes;
  httpServer: HttpServer;
  host: string;
  mqttPort: number;
}

export interface Listeners {
  /** Bound TCP address (the real port when 0 was asked for). */
  mqtt: net.AddressInfo;
  /** Stops accepting connections and drops the WebSocket ones. */
  close(): Promise<void>;
}

function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

export async function startListeners({ broker, httpServer, host, mqttPort }: ListenerOptions): Promise<Listeners> {
  const tcp = net.createServer((socket) => broker.handle(socket));
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(mqttPort, host, () => {
      tcp.off('error', reject);
      resolve();
    });
  });

  const wss = new WebSocketServer({ noServer: true });
  wss.on('connection', (ws, req: IncomingMessage) => {
    const stream = websocketStream(ws as never);
    // A socket error is the client's problem; aedes sees the stream close.
    stream.on('error', () => stream.destroy());
    broker.handle(stream, req);
  });
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    if (pathname !== MQTT_WS_PATH) return refuseUpgrade(socket, 404, 'Not Found');
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  };
  httpServer.on('upgrade', onUpgrade);

  return {
    mqtt: tcp.address() as net.AddressInfo,
    async close() {
      httpServer.off('upgrade', onUpgrade);
      for (const ws of wss.clients) ws.terminate();
      await Promise.all([
        new Promise<void>((resolve) => wss.close(() => resolve())),
        new Promise<void>((resolve) => tcp.close(() => resolve())),
      ]);
    },
  };
}
