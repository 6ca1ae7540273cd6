// Short polling: every interval, GET the points stored after the last cursor.
// Passing the cursor back is what makes the series gap- and duplicate-free; a
// failed request keeps the old cursor and is simply asked again.
import { backfill, getSeries, type HttpEnv } from './http.js';
import { deliver, emptyCounters, errorMessage, StatusCell, type Source, type SourceHandlers, type SourceTarget } from './source.js';

export interface PollOptions extends SourceTarget {
  http: HttpEnv;
  /** Time between the starts of two requests; read before every wait, so it can change while polling. */
  intervalMs: () => number;
  /** Most points per response, and how many the first request loads (the chart's capacity). */
  limit: number;
}

export function pollSource(opts: PollOptions, handlers: SourceHandlers): Source {
  const { http } = opts;
  const counters = emptyCounters();
  const status = new StatusCell(handlers);
  let cursor: string | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inFlight: AbortController | null = null;
  // Each start() is a new run; callbacks of a stopped run find a newer number and do nothing.
  let run = 0;

  async function tick(myRun: number, backfilling: boolean): Promise<void> {
    const startedAt = http.now();
    const controller = new AbortController();
    inFlight = controller;
    let next = backfilling;
    try {
      const page = backfilling
        ? await backfill(http, opts, cursor, opts.limit, counters, controller.signal)
        : await getSeries(http, opts, { after: cursor, limit: opts.limit }, counters, controller.signal);
      if (myRun !== run) return;
      cursor = page.cursor;
      next = false;
      status.set('open', `polling every ${opts.intervalMs()} ms`);
      deliver(handlers, counters, page.points, backfilling);
    } catch (err) {
      if (myRun !== run) return;
      counters.errors++;
      status.set('error', errorMessage(err));
    } finally {
      if (inFlight === controller) inFlight = null;
      if (myRun === run) {
        const wait = Math.max(0, opts.intervalMs() - (http.now() - startedAt));
        timer = setTimeout(() => void tick(myRun, next), wait);
      }
    }
  }

  return {
    start() {
      if (status.running) return;
      run++;
      status.set('connecting', cursor === null ? 'loading the newest points' : 'loading what was stored meanwhile');
      void tick(run, true);
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
