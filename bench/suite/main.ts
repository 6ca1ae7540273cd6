// `npm run bench` (issue #9): the benchmark suite, gateway and Mosquitto side
// by side, printed as a table and written as JSON. Only the main guard at the
// end touches process.argv, signals and the exit code.
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { KEPT, RAISED } from './gateway.js';
import { mosquittoConfig } from './mosquitto.js';
import { helpText, parseSuiteArgs, warmupSeconds, type SuiteOptions } from './options.js';
import { Reaper } from './processes.js';
import { markdownTable, TABLE_HEADER, tableCells } from './report.js';
import { runSuite, type SuiteOutcome } from './suite.js';

export interface BenchIo {
  stdout: (text: string) => void;
  /** Progress lines. */
  stderr: (text: string) => void;
  /** Aborting stops the run and cleans up (SIGINT/SIGTERM in the main guard). */
  signal?: AbortSignal;
}

const defaultIo: BenchIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

function summary(o: SuiteOptions, outcome: SuiteOutcome, argv: string[]): string {
  const { goals } = outcome;
  const judged = goals.filter((g) => g.pass !== null);
  const lines = [
    `## npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
    '',
    `${new Date().toISOString()}, ${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? 'unknown'}), Node ${process.version}; ` +
      `${o.seconds} s measured per run after ${warmupSeconds(o.seconds)} s warm-up, median of ${o.repeat} run(s) per target.`,
    '',
    markdownTable(TABLE_HEADER, tableCells(outcome.rows, goals)),
    '',
    `Targets of issue #9 (gateway with auth, policy and ingest on vs Mosquitto over TCP): ${judged.filter((g) => g.pass).length} of ${judged.length} met` +
      `${goals.length > judged.length ? `, ${goals.length - judged.length} not measured` : ''}.`,
    ...goals.map((g) => `- ${g.pass === null ? 'n/a ' : g.pass ? 'PASS' : 'FAIL'} ${g.variantKey}, ${g.figure} ${g.rule}: ${g.shown}`),
    '',
    'CPU: % of one core over the measured window (idle, hold: over the connect ramp); this machine has ' +
      `${os.cpus().length * 100} %. A load process near 100 % was saturated: the broker figure beside it is a floor.`,
    'Gateway (dist/broker/main.js): AUTH=on, ADMIN_TOKEN set, DEMO=off, SQLite in a temporary DATA_DIR, LOG_LEVEL=warn. Raised:',
    ...RAISED.map((s) => `- ${s.name}=${s.value}: ${s.why}`),
    'Kept at the default:',
    ...KEPT.map((s) => `- ${s.name} (${s.value}): ${s.why}`),
  ];
  if (outcome.mosquitto) {
    lines.push(`Mosquitto ${outcome.mosquitto.version} (${outcome.mosquitto.binary}), websockets ${outcome.mosquitto.websockets ? 'yes' : 'no'}; its generated config:`);
    lines.push(...mosquittoConfig(0, outcome.mosquitto.websockets ? 0 : null).trim().split('\n').map((l) => `    ${l.replace(/^listener 0/, 'listener <free port>')}`));
  }
  if (outcome.notes.length > 0) lines.push('Notes:', ...outcome.notes.map((n) => `- ${n}`));
  return `${lines.join('\n')}\n`;
}

export async function run(argv: string[], io: BenchIo = defaultIo): Promise<number> {
  const parsed = parseSuiteArgs(argv);
  if (parsed.kind === 'help') {
    io.stdout(`${helpText()}\n`);
    return 0;
  }
  if (parsed.kind === 'error') {
    io.stderr(`bench: ${parsed.problems.join('\n  ')}\nRun with --help for the flags and their defaults.\n`);
    return 2;
  }
  const o = parsed.options;
  const startedAt = new Date().toISOString();
  const began = Date.now();
  const elapsed = () => new Date(Date.now() - began).toISOString().slice(14, 19);
  const log = (line: string) => io.stderr(`[${elapsed()}] ${line}\n`);
  const reaper = new Reaper(log);
  // The last resort when the process exits some other way (an uncaught error): nothing asynchronous runs then.
  const onExit = () => reaper.killAllSync();
  process.on('exit', onExit);
  const interrupted = new Promise<null>((resolve) => io.signal?.addEventListener('abort', () => resolve(null), { once: true }));
  try {
    const outcome = await Promise.race([runSuite(o, reaper, log, io.signal), interrupted]);
    if (outcome === null) {
      log('bench: interrupted; stopping every process it started');
      return 130;
    }
    io.stdout(summary(o, outcome, argv));
    const report = {
      startedAt,
      finishedAt: new Date().toISOString(),
      command: `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
      options: o,
      machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model.trim() ?? null, memoryBytes: os.totalmem(), node: process.version },
      gateway: { raised: RAISED, kept: KEPT },
      mosquitto: outcome.mosquitto && { ...outcome.mosquitto, config: mosquittoConfig(0, outcome.mosquitto.websockets ? 0 : null) },
      notes: outcome.notes,
      rows: outcome.rows.map((r) => ({
        scenario: r.variant.scenario, label: r.variant.label, transport: r.variant.transport, figure: r.figure.name,
        gateway: r.gateway, mosquitto: r.mosquitto, ratio: r.ratio, cpu: r.cpu, errors: r.errors,
      })),
      targets: outcome.goals,
      samples: outcome.samples.map((s) => ({ ...s, variant: { scenario: s.variant.scenario, label: s.variant.label, transport: s.variant.transport } })),
    };
    await writeFile(o.out, `${JSON.stringify(report, null, 2)}\n`);
    log(`results written to ${path.resolve(o.out)}`);
    return outcome.samples.some((s) => s.error !== null) ? 1 : 0;
  } catch (err) {
    log(`bench: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    await reaper.closeAll();
    process.off('exit', onExit);
  }
}

if (process.argv[1] && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url) {
  const abort = new AbortController();
  // Ctrl-C reaches this process twice under npm and tsx (from the terminal and relayed by tsx): a second
  // signal must not kill it halfway through cleaning up, so every one after the first is ignored.
  process.on('SIGINT', () => abort.abort());
  process.on('SIGTERM', () => abort.abort());
  // Exit explicitly: fetch's keep-alive sockets would hold the process open a while longer.
  run(process.argv.slice(2), { ...defaultIo, signal: abort.signal }).then((code) => process.exit(code));
}
