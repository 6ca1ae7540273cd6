// `npm run compare` (issue #3, item 5): the four realtime methods on the same
// device stream, one method at a time between two ingest-only baselines, printed
// as a Markdown table and written as JSON. Only the main guard at the end
// touches process.argv, signals and the exit code (STYLE.md §14).
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEFAULT_SETTINGS, METHODS, type MethodSettings } from '../dashboard/methods.js';
import { spawnGateway, waitReady, type GatewayProcess } from './gateway-process.js';
import { nodeIo } from './node-io.js';
import { helpText, parseCompareArgs, type CompareOptions } from './options.js';
import { measureBaseline, measureMethod, sleep, type PhaseContext } from './phase.js';
import { startPublishers, type Publishers } from './publisher.js';
import { hopTable, markdownTable, summarize, type Baseline, type MethodResult } from './report.js';

export interface CompareIo {
  stdout: (text: string) => void;
  /** Progress lines. */
  stderr: (text: string) => void;
  /** Aborting ends the run early and cleans up (SIGINT/SIGTERM in the main guard). */
  signal?: AbortSignal;
}

const defaultIo: CompareIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

const METRIC = 'temperature';
/** Points a client's first backfill loads: enough for any phase's history, small enough not to dominate. */
const BACKFILL_LIMIT = 1000;

export interface CompareReport {
  startedAt: string;
  options: CompareOptions;
  gateway: { httpUrl: string; started: boolean };
  published: number;
  publishErrors: number;
  baseline: Baseline & { cpuMsPerSecond: number; before: Baseline; after: Baseline };
  methods: MethodResult[];
}

function perSecond(b: Baseline): string {
  return ((b.cpuSeconds * 1000 * 1000) / b.windowMs).toFixed(0);
}

/** A quarter of a phase, within 2..10 s. */
function warmupMs(o: CompareOptions): number {
  return 1000 * Math.min(10, Math.max(2, o.durationS / 4));
}

function heading(o: CompareOptions): string {
  return `${o.devices} devices × ${o.rate} readings/s, ${o.clients} clients per method, ${o.durationS} s per phase, short polling every ${o.pollS} s`;
}

/** Every device's series exists (its first reading is stored), so the first backfill finds it. */
async function waitSeries(httpUrl: string, ids: readonly string[], signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (const id of ids) {
    for (;;) {
      const res = await fetch(`${httpUrl}/api/devices/${id}/series?metric=${METRIC}&limit=1`, { signal });
      await res.arrayBuffer();
      if (res.ok) break;
      if (Date.now() > deadline) throw new Error(`device ${id}'s first reading was not stored within 10 s`);
      await sleep(50, signal);
    }
  }
}

export async function run(argv: string[], io: CompareIo = defaultIo): Promise<number> {
  const parsed = parseCompareArgs(argv);
  if (parsed.kind === 'help') {
    io.stdout(`${helpText()}\n`);
    return 0;
  }
  if (parsed.kind === 'error') {
    io.stderr(`compare: ${parsed.problems.join('\n  ')}\nRun with --help for the flags and their defaults.\n`);
    return 2;
  }
  const o = parsed.options;
  const startedAt = new Date().toISOString();
  let gateway: GatewayProcess | null = null;
  let publishers: Publishers | null = null;
  try {
    let httpUrl: string;
    let mqttUrl: string;
    if (o.url !== null) {
      await waitReady(o.url, 10_000);
      httpUrl = o.url;
      mqttUrl = o.mqttUrl ?? `${o.url.replace(/^http/, 'ws')}/mqtt`;
    } else {
      io.stderr('starting a gateway (broker/main.ts, embedded store, temporary DATA_DIR)\n');
      gateway = await spawnGateway();
      httpUrl = gateway.httpUrl;
      mqttUrl = o.mqttUrl ?? gateway.mqttUrl;
    }
    // A fresh id prefix per run keeps a run against a long-lived gateway from mixing with an earlier one.
    const tag = Math.random().toString(36).slice(2, 6);
    const ids = Array.from({ length: o.devices }, (_, i) => `lab-${tag}-${String(i + 1).padStart(4, '0')}`);
    io.stderr(`${o.devices} devices publishing ${o.rate}/s each to ${mqttUrl}\n`);
    publishers = await startPublishers({ url: mqttUrl, ids, rate: o.rate, metric: METRIC });
    await waitSeries(httpUrl, ids, io.signal);

    const settings: MethodSettings = { ...DEFAULT_SETTINGS, pollIntervalMs: () => o.pollS * 1000, limit: BACKFILL_LIMIT };
    const ctx: PhaseContext = {
      httpUrl, io: nodeIo(httpUrl), settings, ids, metric: METRIC, publishers,
      clients: o.clients, windowMs: o.durationS * 1000, signal: io.signal,
    };
    // The gateway's first seconds include JIT compilation and lazy start-up work that no method should be charged for.
    await sleep(warmupMs(o), io.signal);
    io.stderr(`baseline: ingest only, ${o.durationS} s\n`);
    const before = await measureBaseline(ctx);
    const measured = [];
    for (const method of METHODS) {
      io.stderr(`${method.title}: ${o.clients} clients, ${o.durationS} s\n`);
      measured.push(await measureMethod(method.id, ctx));
    }
    io.stderr(`baseline again: ingest only, ${o.durationS} s\n`);
    const after = await measureBaseline(ctx);
    // Before and after, so a drift in the gateway's idle cost over the run (GC, caches) is shared out evenly.
    const baseline: Baseline = { windowMs: before.windowMs + after.windowMs, cpuSeconds: before.cpuSeconds + after.cpuSeconds };
    const results = measured.map((m) => summarize(m, baseline));

    const report: CompareReport = {
      startedAt,
      options: o,
      gateway: { httpUrl, started: gateway !== null },
      published: publishers.published,
      publishErrors: publishers.errors,
      baseline: { ...baseline, cpuMsPerSecond: (baseline.cpuSeconds * 1000 * 1000) / baseline.windowMs, before, after },
      methods: results,
    };
    io.stdout([
      `### npm run compare: ${heading(o)}`,
      '',
      `Gateway CPU with ingest only: ${perSecond(before)} ms per second before the methods, ${perSecond(after)} after; their mean is`,
      'subtracted below, and their difference is the noise the CPU column carries.',
      '',
      markdownTable(results),
      '',
      'Where the delay comes from (median ms; in Node "delivered" is the end, there is no drawing):',
      '',
      hopTable(results),
      '',
    ].join('\n'));
    await writeFile(o.jsonPath, `${JSON.stringify(report, null, 2)}\n`);
    io.stderr(`results written to ${path.resolve(o.jsonPath)}\n`);

    const failed = results.filter((r) => r.updates === 0 || r.delivery.missing > 0 || r.delivery.duplicates > 0);
    for (const r of failed) {
      io.stderr(`compare: ${r.title} did not deliver every reading exactly once (${r.delivery.missing} lost, ${r.delivery.duplicates} duplicated)\n`);
    }
    return failed.length === 0 ? 0 : 1;
  } catch (err) {
    io.stderr(`compare: ${io.signal?.aborted ? 'interrupted' : err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    await publishers?.stop();
    await gateway?.stop();
  }
}

if (process.argv[1] && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url) {
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  process.once('SIGTERM', () => abort.abort());
  // Exit explicitly: fetch's idle keep-alive sockets would hold the process open a few seconds more.
  run(process.argv.slice(2), { ...defaultIo, signal: abort.signal }).then((code) => process.exit(code));
}
