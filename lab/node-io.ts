// The lab's clients are the dashboard's sources with Node's I/O: global fetch
// (bytes from the response's own head, as the browser's fallback does), the
// fetch-based EventSource, and `ws` for MQTT.js, whose handshake Node can see.
import type { IncomingMessage } from 'node:http';
import { WebSocket, type RawData } from 'ws';
import { headBytes, headerMeter, wsFrameBytes } from '../dashboard/bytes.js';
import { dashboardClientId, type WsConnect } from '../dashboard/live-source.js';
import type { SourceIo } from '../dashboard/methods.js';
import { nodeEventSource } from './event-source.js';

/** `rawHeaders` is [name, value, name, value, ...] as received. */
function headerPairs(raw: readonly string[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) pairs.push([raw[i]!, raw[i + 1]!]);
  return pairs;
}

function rawLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((sum, part) => sum + part.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

export const nodeWebSocket: WsConnect = (url, protocols, meter) => {
  const ws = new WebSocket(url, protocols);
  ws.on('upgrade', (res: IncomingMessage) => {
    meter.handshake(headBytes(`HTTP/1.1 ${res.statusCode} ${res.statusMessage}`, headerPairs(res.rawHeaders)));
  });
  ws.on('message', (data: RawData) => meter.frame(wsFrameBytes(rawLength(data))));
  return ws;
};

/** Node I/O against a gateway at `httpUrl` (http://host:port) and its MQTT over WebSocket. */
export function nodeIo(httpUrl: string): SourceIo {
  const base = httpUrl.replace(/\/+$/, '');
  return {
    http: { baseUrl: base, fetch: globalThis.fetch.bind(globalThis), meter: headerMeter, now: Date.now },
    mqttUrl: `${base.replace(/^http/, 'ws')}/mqtt`,
    // A dashboard-like client id: the gateway treats `dash-` clients as read-only subscribers.
    clientId: dashboardClientId,
    sse: nodeEventSource(),
    ws: nodeWebSocket,
  };
}
