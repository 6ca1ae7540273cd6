// The four ways to get server data to a client, as the teaching material names
// and rates them, and one factory that builds each from the same I/O. The
// dashboard and `npm run compare` both build their sources here, so the page
// and the command line measure the same code.
import type { HttpEnv } from './http.js';
import { liveSource, type WsConnect } from './live-source.js';
import { longPollSource } from './long-poll-source.js';
import { pollSource } from './poll-source.js';
import type { Source, SourceHandlers, SourceTarget } from './source.js';
import { sseSource, type SseConnect } from './sse-source.js';
import type { HopPath, Rating } from './stats.js';

export type MethodId = 'short-poll' | 'long-poll' | 'sse' | 'mqtt-ws';

/** The teaching material's table (issue #3), which the lab checks. */
export interface Taught {
  realtime: Rating;
  serverLoad: Rating | 'low-medium';
  complexity: Rating;
}

export interface MethodInfo {
  id: MethodId;
  title: string;
  /** One line on how the method delivers. */
  how: string;
  color: string;
  path: HopPath;
  taught: Taught;
  /** What the connection costs the gateway between updates. */
  holds: string;
  /** What a client of this method has to get right, beyond parsing. */
  handles: string;
  /** The modules only this method's client needs, for its size (http.ts, shared by all four, is left out). */
  modules: readonly string[];
}

export const METHODS: readonly MethodInfo[] = [
  {
    id: 'short-poll',
    title: 'Short polling',
    how: 'GET /series?after=cursor on a timer; answered at once, empty when nothing new was stored.',
    color: '#d9480f',
    path: 'stored',
    taught: { realtime: 'low', serverLoad: 'high', complexity: 'low' },
    holds: 'nothing between requests',
    handles: 'a cursor and a timer',
    modules: ['poll-source.ts'],
  },
  {
    id: 'long-poll',
    title: 'Long polling',
    how: 'GET /series?after=cursor&wait=25: held until a point is stored, then asked again at once.',
    color: '#9c36b5',
    path: 'stored',
    taught: { realtime: 'medium', serverLoad: 'medium', complexity: 'medium' },
    holds: 'one held request per client',
    handles: 'a cursor, re-asking at once, 503 Retry-After',
    modules: ['long-poll-source.ts'],
  },
  {
    id: 'sse',
    title: 'Server-Sent Events',
    how: 'One GET /stream held open, an event per stored point; EventSource resumes with Last-Event-ID.',
    color: '#2b8a3e',
    path: 'stored',
    taught: { realtime: 'high', serverLoad: 'low-medium', complexity: 'medium' },
    holds: 'one open response per client',
    handles: 'a backfill, then EventSource resumes by itself',
    modules: ['sse-source.ts'],
  },
  {
    id: 'mqtt-ws',
    title: 'MQTT over WebSocket',
    how: 'The broker pushes each reading as the device publishes it; the store is not on the path.',
    color: '#1f6feb',
    path: 'live',
    taught: { realtime: 'high', serverLoad: 'low', complexity: 'high' },
    holds: 'one WebSocket per client',
    handles: 'a viewer token per connection, an MQTT client, reconnecting, HTTP catch-up after gaps, de-duplication',
    modules: ['live-source.ts', 'continuity.ts'],
  },
];

export function methodInfo(id: MethodId): MethodInfo {
  return METHODS.find((m) => m.id === id)!;
}

/** Everything a source talks through; the page and the lab each supply theirs. */
export interface SourceIo {
  http: HttpEnv;
  /** ws(s)://host/mqtt */
  mqttUrl: string;
  clientId: () => string;
  sse: SseConnect;
  ws: WsConnect;
}

export interface MethodSettings {
  /** Short polling's interval; read before every wait, so a control can change it live. */
  pollIntervalMs: () => number;
  longPollWaitS: number;
  /** Points per response, and the most a backfill loads (the chart's capacity). */
  limit: number;
  /** Pause after a failed request or a refused stream. */
  retryMs: number;
  /** Live MQTT: how long a gap in sequence numbers may settle before the store is read. */
  gapSettleMs: number;
}

export const DEFAULT_SETTINGS: MethodSettings = {
  pollIntervalMs: () => 1000,
  longPollWaitS: 25,
  limit: 2000,
  retryMs: 1000,
  // Ingest commits within INGEST_FLUSH_MS (50 ms by default); a few times that is plenty.
  gapSettleMs: 250,
};

export function createSource(id: MethodId, target: SourceTarget, io: SourceIo, settings: MethodSettings, handlers: SourceHandlers): Source {
  const { http } = io;
  switch (id) {
    case 'short-poll':
      return pollSource({ ...target, http, intervalMs: settings.pollIntervalMs, limit: settings.limit }, handlers);
    case 'long-poll':
      return longPollSource({ ...target, http, waitS: settings.longPollWaitS, limit: settings.limit, retryMs: settings.retryMs }, handlers);
    case 'sse':
      return sseSource({ ...target, http, connect: io.sse, limit: settings.limit, retryMs: settings.retryMs }, handlers);
    case 'mqtt-ws':
      return liveSource({
        ...target, http, url: io.mqttUrl, clientId: io.clientId(), socket: io.ws,
        limit: settings.limit, gapSettleMs: settings.gapSettleMs, reconnectMs: settings.retryMs,
      }, handlers);
  }
}
