// `npm run devices -- [flags]` (issue #4): parse flags, start a fleet, report,
// stop on --duration, --messages, or a signal. Only the main guard at the end
// touches process.argv and process.exit (STYLE.md §14).
import { realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { startFleet, type Fleet } from './fleet.js';
import { helpText, parseCliArgs, parseCredentials } from './options.js';
import { formatSummary, StatusReporter, summarize } from './status.js';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Whether stderr is a terminal: a live status line instead of log lines. */
  tty: boolean;
  /** Aborting stops the fleet as --duration would (SIGINT/SIGTERM in the main guard). */
  signal?: AbortSignal;
}

const defaultIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  tty: process.stderr.isTTY === true,
};

export async function run(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const parsed = parseCliArgs(argv);
  if (parsed.kind === 'help') {
    io.stdout(`${helpText()}\n`);
    return 0;
  }
  if (parsed.kind === 'error') {
    io.stderr(`devices: ${parsed.problems.join('\n  ')}\nRun with --help for the flags and their defaults.\n`);
    return 2;
  }
  const o = parsed.options;
  let credentials: Map<string, string> | undefined;
  if (o.credentialsPath !== undefined) {
    let text: string;
    try {
      text = await readFile(o.credentialsPath, 'utf8');
    } catch (err) {
      io.stderr(`devices: --credentials ${o.credentialsPath}: ${(err as Error).message}\n`);
      return 2;
    }
    const result = parseCredentials(text);
    if (!result.ok) {
      io.stderr(`devices: --credentials ${o.credentialsPath}: ${result.problem}\n`);
      return 2;
    }
    credentials = result.secrets;
  }

  let fleet: Fleet;
  try {
    fleet = await startFleet({
      url: o.url, count: o.count, rate: o.rate, idPrefix: o.idPrefix, profile: o.profile, seed: o.seed, qos: o.qos,
      credentials, jitter: o.jitter, ramp: o.ramp, bufferSize: o.bufferSize, messages: o.messages,
      malformedRate: o.malformedRate, disconnectEveryMs: o.disconnectEveryS * 1000, duplicateIds: o.duplicateIds,
      stormEveryMs: o.stormEveryS * 1000, slowSubscriber: o.slowSubscriber,
      log: (line) => io.stderr(`${line}\n`),
    });
  } catch (err) {
    // startFleet refuses only options it cannot honour, e.g. ids missing from the credentials file.
    io.stderr(`devices: ${(err as Error).message}\n`);
    return 2;
  }

  const reporter = new StatusReporter({ write: io.stderr, tty: io.tty, logEveryMs: o.logEveryS * 1000 });
  const reason = await new Promise<'done' | 'duration' | 'signal'>((resolve) => {
    const poll = setInterval(() => {
      reporter.update(fleet.stats());
      if (o.messages !== undefined && fleet.settled()) finish('done');
    }, 1000);
    const deadline = o.durationS > 0 ? setTimeout(() => finish('duration'), o.durationS * 1000) : null;
    const onAbort = () => finish('signal');
    io.signal?.addEventListener('abort', onAbort, { once: true });
    if (io.signal?.aborted) onAbort();
    function finish(why: 'done' | 'duration' | 'signal') {
      clearInterval(poll);
      if (deadline) clearTimeout(deadline);
      io.signal?.removeEventListener('abort', onAbort);
      resolve(why);
    }
  });
  reporter.finish();
  await fleet.stop();
  const summary = summarize(fleet.stats(), o.count * o.rate);
  io.stdout(o.json ? `${JSON.stringify({ ...summary, stoppedBy: reason })}\n` : `${formatSummary(summary)}\n`);
  // With --messages, anything produced but never acknowledged is a failure worth an exit code.
  return o.messages !== undefined && summary.acknowledged < summary.produced ? 1 : 0;
}

// Run directly (tsx devices/cli.ts, node dist/devices/cli.js), not imported; realpath so a symlinked bin still counts.
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  const controller = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => controller.abort());
  }
  run(process.argv.slice(2), { ...defaultIo, signal: controller.signal }).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`devices: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
