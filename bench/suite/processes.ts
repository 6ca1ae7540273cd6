// Every process and temporary directory a run creates goes through one
// Reaper, so an error, Ctrl-C or SIGTERM leaves nothing behind: closeAll()
// stops them in reverse order, and killAllSync() is the last resort on exit.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * setpriv (util-linux) has the kernel kill a service when this process dies,
 * even by SIGKILL, which no handler here could catch.
 */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((file) => fs.existsSync(file)) ?? null;
const STOP_TIMEOUT_MS = 15_000;
/** Lines of a service's output passed on to the log; the rest is only kept for an error message. */
const FORWARDED_LINES = 20;

/** Node's notice when a gateway's inspector starts (for the idle scenario's full GC): not the service's own output. */
const INSPECTOR_NOTICE = /^(Debugger (listening on|attached|ending on)|For help, see: https:\/\/nodejs\.org\/en\/docs\/inspector)/;

export interface Service {
  name: string;
  pid: number;
  running(): boolean;
  /** The last few KiB of its output, to explain a failure. */
  output(): string;
  /** SIGTERM, then SIGKILL after a timeout. */
  stop(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited(child);
  clearTimeout(killer);
}

export class Reaper {
  private readonly children = new Set<ChildProcess>();
  private readonly dirs = new Set<string>();
  private readonly closers: (() => Promise<void>)[] = [];
  /** Set by closeAll: a run still unwinding in the background must not start anything new. */
  private closed = false;

  constructor(private readonly log: (line: string) => void) {}

  private open(): void {
    if (this.closed) throw new Error('interrupted: not starting anything more');
  }

  tempDir(prefix: string): string {
    this.open();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    this.dirs.add(dir);
    return dir;
  }

  removeDir(dir: string): void {
    fs.rmSync(dir, { recursive: true, force: true });
    this.dirs.delete(dir);
  }

  /** Starts a service whose output is kept and its first lines logged with its name. */
  spawn(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Service {
    this.open();
    const argv = SETPRIV ? [SETPRIV, '--pdeathsig', 'KILL', '--', command, ...args] : [command, ...args];
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.track(child);
    let tail = '';
    let forwarded = 0;
    const keep = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      tail = (tail + text).slice(-4000);
      for (const line of text.split('\n')) {
        if (!line.trim() || INSPECTOR_NOTICE.test(line)) continue;
        forwarded += 1;
        if (forwarded <= FORWARDED_LINES) this.log(`[${name}] ${line.slice(0, 300)}`);
        else if (forwarded === FORWARDED_LINES + 1) this.log(`[${name}] (further output not shown)`);
      }
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    return {
      name,
      pid: child.pid!,
      running: () => child.exitCode === null && child.signalCode === null,
      output: () => tail,
      stop: () => terminate(child),
    };
  }

  /** A TypeScript module in its own Node process with an IPC channel (structured clone, so typed arrays pass as such). */
  fork(module: string): ChildProcess {
    this.open();
    const child = fork(module, [], { execArgv: ['--import', 'tsx'], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.track(child);
    return child;
  }

  stop(child: ChildProcess): Promise<void> {
    return terminate(child);
  }

  private track(child: ChildProcess): void {
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
  }

  /** Something else to stop in closeAll (a service started by code that manages its own process). */
  onClose(close: () => Promise<void>): void {
    if (this.closed) void close().catch(() => {});
    else this.closers.push(close);
  }

  async closeAll(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.children].map(terminate));
    await Promise.all(this.closers.splice(0).map((close) => close().catch(() => {})));
    for (const dir of [...this.dirs]) this.removeDir(dir);
  }

  /** For process 'exit', where nothing asynchronous runs any more. */
  killAllSync(): void {
    for (const child of this.children) child.kill('SIGKILL');
    for (const dir of this.dirs) fs.rmSync(dir, { recursive: true, force: true });
  }
}
