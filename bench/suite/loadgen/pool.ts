// The orchestrator's side of the load generators: forks worker.ts
// processes through the Reaper, sends them requests and awaits the answers,
// and reads their CPU time from /proc.
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { procSample } from '../../proc.js';
import type { Reaper } from '../processes.js';
import type { ConnectReport, IdleReport, PublishReport, Reply, Request, Role, SubscribeReport, Window } from './protocol.js';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

export class LoadProcess {
  private nextId = 1;
  /** How connecting went, once connect() answered. */
  connected: ConnectReport | null = null;
  private readonly pending = new Map<number, { resolve: (data: unknown) => void; reject: (err: Error) => void }>();

  constructor(readonly name: string, private readonly child: ChildProcess, private readonly reaper: Reaper) {
    child.on('message', (reply: Reply) => {
      const waiter = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (reply.ok) waiter?.resolve(reply.data);
      else waiter?.reject(new Error(`${name}: ${reply.error}`));
    });
    child.once('exit', (code, signal) => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`${name} exited (${signal ?? code}) with a request pending`));
      this.pending.clear();
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** User + system CPU time so far, ms. */
  cpuMs(): number {
    return procSample(this.pid).cpuMs;
  }

  private request<T>(request: Request): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (data: unknown) => void, reject });
      this.child.send({ id, request });
    });
  }

  async connect(role: Role): Promise<ConnectReport> {
    this.connected = await this.request<ConnectReport>({ op: 'connect', role });
    return this.connected;
  }

  /** Publishers answer after endAt, once their last publishes settled; subscribers at once. */
  run(window: Window): Promise<PublishReport | null> {
    return this.request({ op: 'run', window });
  }

  report<T extends SubscribeReport | IdleReport>(full = false): Promise<T> {
    return this.request({ op: 'report', full });
  }

  close(): Promise<void> {
    return this.reaper.stop(this.child);
  }
}

/** Forks one load process per name, all at once: loading one takes a while, connecting it is quick. */
export function forkLoad(reaper: Reaper, names: readonly string[]): LoadProcess[] {
  return names.map((name) => new LoadProcess(name, reaper.fork(WORKER), reaper));
}

/**
 * Connects processes[i] as roles[i], all in parallel. Fails when any client
 * could not connect, unless `partial`: a flow measured over fewer clients
 * than asked would not be the scenario's, but how many connections a broker
 * holds is itself the figure.
 */
export async function connectLoad(processes: readonly LoadProcess[], roles: readonly Role[], partial = false): Promise<void> {
  const reports = await Promise.allSettled(roles.map((role, i) => processes[i]!.connect(role)));
  const problems = reports.flatMap((r, i) => {
    if (r.status === 'rejected') return [(r.reason as Error).message];
    if (r.value.failed === 0 || partial) return [];
    return [`${processes[i]!.name}: ${r.value.failed} of ${roles[i]!.accounts.length} connections failed (${r.value.errors.join('; ')})`];
  });
  if (problems.length > 0) throw new Error(problems.join('; '));
}

export async function closeLoad(processes: readonly LoadProcess[]): Promise<void> {
  await Promise.all(processes.map((p) => p.close()));
}
