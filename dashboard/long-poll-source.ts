// Long polling: GET the series after the cursor with `wait`, which the gateway
// holds until a point of this series is committed (or the wait ends empty),
// then ask again at once. Same cursor discipline as short polling, so the same
// no-gap, no-duplicate guarantee; the price is one held request per client.
import { backfill, getSeries, HttpError, type HttpEnv } from './http.js';
import { deliver, emptyCounters, errorMessage, StatusCell, type Source, type SourceHandlers, type SourceTarget } from './source.js';

export interface LongPollOptions extends SourceTarget {
  http: HttpEnv;
  /** Seconds the gateway may hold a request (1..60); under the 30 s that many proxies allow an idle response. */
  waitS: number;
  /** Most points per response, and how many the first request loads. */
  limit: number;
  /** Pause after a failed request when the gateway gives no Retry-After. */
  retryMs: number;
}

export function longPollSource(opts: LongPollOptions, handlers: SourceHandlers): Source {
  const { http } = opts;
  const counters = emptyCounters();
  const status = new StatusCell(handlers);
  let cursor: string | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inFlight: AbortController | null = null;
  let run = 0;

  async function loop(myRun: number): Promise<void> {
    let backfilling = true;
    while (myRun === run) {
      const controller = new AbortController();
      inFlight = controller;
      try {
        const page = backfilling
          ? await backfill(http, opts, cursor, opts.limit, counters, controller.signal)
          : await getSeries(http, opts, { after: cursor, limit: opts.limit, wait: opts.waitS }, counters, controller.signal);
        if (myRun !== run) return;
        cursor = page.cursor;
        status.set('open', `held up to ${opts.waitS} s per request`);
        deliver(handlers, counters, page.points, backfilling);
        backfilling = false;
      } catch (err) {
        if (myRun !== run) return;
        counters.errors++;
        status.set('error', errorMessage(err));
        // 503 past MAX_LONG_POLLS says when to come back; anything else gets a short pause, not a tight loop.
        const pause = err instanceof HttpError && err.retryAfterMs !== null ? err.retryAfterMs : opts.retryMs;
        await new Promise<void>((resolve) => (timer = setTimeout(resolve, pause)));
      } finally {
        if (inFlight === controller) inFlight = null;
      }
    }
  }

  return {
    start() {
      if (status.running) return;
      run++;
      status.set('connecting', cursor === null ? 'loading the newest points' : 'loading what was stored meanwhile');
      void loop(run);
    },
    stop() {
      run++;
      clearTimeout(timer);
      inFlight?.abort();
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
