// Server-Sent Events: one GET that the gateway keeps open, one event per stored
// point. The first backfill gives a cursor and the stream starts after it. When
// the connection drops, EventSource reconnects by itself and sends the last
// event id (Last-Event-ID), which the gateway resumes from; only when it gives
// up (an HTTP error) does this source open a new stream from its cursor.
import { SSE_HANDSHAKE_BYTES, sseEventBytes } from './bytes.js';
import { backfill, parseStoredPoint, type HttpEnv } from './http.js';
import { deliver, emptyCounters, errorMessage, StatusCell, type Source, type SourceHandlers, type SourceTarget } from './source.js';

/** What an EventSource reports, reduced to what this source uses. */
export interface SseHandlers {
  open(): void;
  message(data: string, lastEventId: string): void;
  /** `willRetry`: the client reconnects by itself (EventSource's CONNECTING state) rather than giving up. */
  error(willRetry: boolean): void;
}

/** Opens an event stream: the browser's EventSource, or lab/event-source.ts under Node. */
export type SseConnect = (url: string, handlers: SseHandlers) => { close(): void };

export interface SseOptions extends SourceTarget {
  http: HttpEnv;
  connect: SseConnect;
  /** How many points the backfill loads. */
  limit: number;
  /** Pause before a new stream when the last one was refused, or before retrying a failed backfill. */
  retryMs: number;
}

function streamUrl(baseUrl: string, target: SourceTarget, after: string): string {
  const query = new URLSearchParams({ metric: target.metric, after });
  return `${baseUrl}/api/devices/${encodeURIComponent(target.deviceId)}/stream?${query}`;
}

export function sseSource(opts: SseOptions, handlers: SourceHandlers): Source {
  const { http } = opts;
  const counters = emptyCounters();
  const status = new StatusCell(handlers);
  let cursor: string | null = null;
  let stream: { close(): void } | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inFlight: AbortController | null = null;
  let run = 0;

  function retry(myRun: number, next: () => void): void {
    timer = setTimeout(() => myRun === run && next(), opts.retryMs);
  }

  async function begin(myRun: number): Promise<void> {
    const controller = new AbortController();
    inFlight = controller;
    try {
      const page = await backfill(http, opts, cursor, opts.limit, counters, controller.signal);
      if (myRun !== run) return;
      cursor = page.cursor;
      deliver(handlers, counters, page.points, true);
      open(myRun, page.cursor);
    } catch (err) {
      if (myRun !== run) return;
      counters.errors++;
      status.set('error', errorMessage(err));
      retry(myRun, () => void begin(myRun));
    } finally {
      if (inFlight === controller) inFlight = null;
    }
  }

  function open(myRun: number, after: string): void {
    counters.requests++;
    const current = opts.connect(streamUrl(http.baseUrl, opts, after), {
      open() {
        if (myRun !== run) return;
        counters.bytes += SSE_HANDSHAKE_BYTES;
        status.set('open', 'stream open');
      },
      message(data, lastEventId) {
        if (myRun !== run) return;
        counters.messages++;
        counters.bytes += sseEventBytes(lastEventId, data);
        let point;
        try {
          point = parseStoredPoint(JSON.parse(data), http.now());
        } catch {
          counters.errors++;
          return;
        }
        if (lastEventId !== '') cursor = lastEventId;
        deliver(handlers, counters, [point], false);
      },
      error(willRetry) {
        if (myRun !== run) return;
        counters.errors++;
        if (willRetry) {
          // EventSource's own reconnect is a new request carrying Last-Event-ID.
          counters.requests++;
          status.set('connecting', 'reconnecting; resumes after the last event id');
          return;
        }
        current.close();
        status.set('error', 'stream refused; opening a new one from the cursor');
        retry(myRun, () => open(myRun, cursor ?? after));
      },
    });
    stream = current;
  }

  return {
    start() {
      if (status.running) return;
      run++;
      status.set('connecting', cursor === null ? 'loading the newest points' : 'loading what was stored meanwhile');
      void begin(run);
    },
    stop() {
      run++;
      clearTimeout(timer);
      inFlight?.abort();
      stream?.close();
      stream = null;
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
