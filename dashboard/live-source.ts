// The live path: MQTT over WebSocket straight from the broker (DESIGN.md §1),
// with MQTT.js (its browser build in the page, the Node build in the lab).
// Each connection presents a fresh viewer token (POST /api/tokens): tokens
// expire, so this source reconnects itself rather than letting MQTT.js reuse
// an old password. Payloads go through the gateway's own contract parser. MQTT with a clean
// session keeps nothing for a client that was away, so after every (re)connect
// this source reads what it missed from the stored series, and again while the
// device's sequence numbers show a hole (continuity.ts): the store is the
// record, the broker only the fast path.
import mqtt from 'mqtt';
import { parseTelemetry } from '../broker/contract/telemetry.js';
import { telemetryTopic } from '../broker/contract/topics.js';
import { Continuity } from './continuity.js';
import { catchUp, viewerToken, type HttpEnv } from './http.js';
import { pointKey, RecentKeys } from './series.js';
import { deliver, emptyCounters, errorMessage, StatusCell, type Source, type SourceHandlers, type SourcePoint, type SourceTarget } from './source.js';

/** Where a WebSocket reports what it received. */
export interface WsMeter {
  handshake(bytes: number): void;
  frame(bytes: number): void;
}

/** Creates the WebSocket MQTT.js runs over (its `createWebsocket` option): the browser's, or `ws` under Node. */
export type WsConnect = (url: string, protocols: string[], meter: WsMeter) => unknown;

export interface LiveOptions extends SourceTarget {
  /** `ws(s)://host/mqtt`; see {@link mqttUrlFor}. */
  url: string;
  clientId: string;
  http: HttpEnv;
  socket: WsConnect;
  /** Most points a catch-up loads, and how many the first one does. */
  limit: number;
  /** After a jump in sequence numbers, how long to let the store commit the missing readings before reading them. */
  gapSettleMs: number;
  reconnectMs: number;
}

/** The MQTT-over-WebSocket endpoint on the page's own origin, as the gateway serves it. */
export function mqttUrlFor(location: { protocol: string; host: string }): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/mqtt`;
}

/** `dash-` marks the client as a read-only dashboard; the random part keeps two tabs from kicking each other off. */
export function dashboardClientId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return `dash-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

// The gateway already refused oversized or future-stamped readings before
// routing them; a client only needs a well-formed reading, and its own clock
// may differ from the gateway's.
const PARSE_LIMITS = { maxBytes: Number.POSITIVE_INFINITY, maxFutureMs: Number.POSITIVE_INFINITY };

export function liveSource(opts: LiveOptions, handlers: SourceHandlers): Source {
  const { http } = opts;
  const topic = telemetryTopic(opts.deviceId);
  const counters = emptyCounters();
  const status = new StatusCell(handlers);
  const seen = new RecentKeys(2 * opts.limit);
  const continuity = new Continuity(2 * opts.limit);
  let client: mqtt.MqttClient | null = null;
  let run = 0;
  // The run with a catch-up under way (0: none). One at a time; asking while one runs is remembered, not lost.
  let catchingUp = 0;
  let again = false;
  let backfillNext = true;
  let gapTimer: ReturnType<typeof setTimeout> | undefined;
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  let inFlight: AbortController | null = null;
  let tokenRequest: AbortController | null = null;

  function take(points: SourcePoint[], backfill: boolean): void {
    deliver(handlers, counters, points.filter((p) => seen.add(pointKey(p))), backfill);
  }

  /** A hole waits for the store to commit the readings in it, then is read; one wait at a time. */
  function fillGapLater(myRun: number): void {
    if (gapTimer !== undefined || !continuity.hasGap) return;
    gapTimer = setTimeout(() => {
      gapTimer = undefined;
      void runCatchUp(myRun);
    }, opts.gapSettleMs);
  }

  async function runCatchUp(myRun: number): Promise<void> {
    if (catchingUp === myRun) {
      again = true;
      return;
    }
    catchingUp = myRun;
    try {
      do {
        again = false;
        const controller = new AbortController();
        inFlight = controller;
        try {
          const backfill = backfillNext;
          const page = await catchUp(http, opts, continuity.anchor, opts.limit, counters, controller.signal, backfill);
          if (myRun !== run) return;
          take(page.points, backfill);
          continuity.caughtUp(page.points);
          backfillNext = false;
          if (status.value === 'error' && client?.connected) status.set('open', `subscribed to ${topic}`);
        } catch (err) {
          if (myRun !== run) return;
          counters.errors++;
          status.set('error', `catch-up failed: ${errorMessage(err)}`);
          // The readings are still missing: ask again, as a reconnect would.
          gapTimer ??= setTimeout(() => {
            gapTimer = undefined;
            void runCatchUp(myRun);
          }, opts.reconnectMs);
        } finally {
          if (inFlight === controller) inFlight = null;
        }
      } while (again && myRun === run);
    } finally {
      if (catchingUp === myRun) catchingUp = 0;
    }
    if (myRun === run) fillGapLater(myRun);
  }

  function onMessage(myRun: number, msgTopic: string, payload: Uint8Array): void {
    if (myRun !== run) return;
    const arrivedAt = http.now();
    counters.messages++;
    const parsed = parseTelemetry(msgTopic, payload, { now: arrivedAt, ...PARSE_LIMITS });
    if (!parsed.ok) {
      counters.errors++;
      return;
    }
    const { reading } = parsed;
    continuity.seen([reading]);
    fillGapLater(myRun);
    const value = reading.metrics[opts.metric];
    // A reading without the selected metric is valid, just not for this chart.
    if (value === undefined) return;
    take([{ ts: reading.ts, value, seq: reading.seq, arrivedAt }], false);
  }

  /** Gives up on connection `c` (null: none was made) and connects anew after reconnectMs; once per connection. */
  function retryLater(myRun: number, c: mqtt.MqttClient | null): void {
    if (myRun !== run || client !== c) return;
    c?.end(true);
    client = null;
    reconnectTimer = setTimeout(() => void connect(myRun), opts.reconnectMs);
  }

  async function connect(myRun: number): Promise<void> {
    const controller = new AbortController();
    tokenRequest = controller;
    let credentials;
    try {
      credentials = await viewerToken(http, counters, controller.signal);
    } catch (err) {
      if (myRun !== run) return;
      counters.errors++;
      status.set('error', `no viewer token: ${errorMessage(err)}`);
      retryLater(myRun, null);
      return;
    }
    if (myRun !== run) return;
    const meter: WsMeter = {
      handshake: (bytes) => myRun === run && (counters.bytes += bytes),
      frame: (bytes) => myRun === run && (counters.bytes += bytes),
    };
    const c = mqtt.connect(opts.url, {
      clientId: opts.clientId,
      username: credentials.username,
      password: credentials.token,
      protocolVersion: 4,
      clean: true,
      // Subscribing on every CONNACK ourselves orders it before the catch-up.
      resubscribe: false,
      reconnectPeriod: 0,
      // MQTT.js's default in a browser runs its timers in a worker made from a blob: URL, which a strict
      // Content-Security-Policy refuses; its point, timers that survive background throttling, does not
      // apply here: the panel disconnects while its tab is in the background.
      timerVariant: 'native',
      createWebsocket: (url: string, protocols: string[]) => {
        counters.requests++;
        return opts.socket(url, protocols, meter);
      },
    });
    client = c;
    c.on('connect', () => {
      c.subscribe(topic, { qos: 0 }, (err) => {
        if (myRun !== run || client !== c) return;
        if (err) {
          counters.errors++;
          status.set('error', `subscribe refused: ${err.message}`);
          return;
        }
        status.set('open', `subscribed to ${topic}`);
        // Subscribed first, then read the store: a reading is either in the page or arrives live (or both: deduped).
        void runCatchUp(myRun);
      });
    });
    c.on('message', (t, payload) => onMessage(myRun, t, payload));
    c.on('close', () => {
      if (myRun !== run || client !== c) return;
      if (status.value === 'open') {
        counters.errors++;
        status.set('connecting', `connection lost; reconnecting in ${opts.reconnectMs} ms`);
      }
      retryLater(myRun, c);
    });
    c.on('error', (err) => {
      if (myRun !== run || client !== c) return;
      counters.errors++;
      status.set('error', err.message);
      retryLater(myRun, c);
    });
  }

  return {
    start() {
      if (status.running) return;
      run++;
      backfillNext = true;
      status.set('connecting', `connecting to ${opts.url}`);
      void connect(run);
    },
    stop() {
      run++;
      clearTimeout(gapTimer);
      gapTimer = undefined;
      clearTimeout(reconnectTimer);
      tokenRequest?.abort();
      inFlight?.abort();
      client?.end(true);
      client = null;
      status.set('stopped', '');
    },
    get status() {
      return status.value;
    },
    get counters() {
      return { ...counters };
    },
  };
}
