// Runs the SQLite writer on a worker thread. Measured on a 7,000-device fleet at
// 1 reading/s (bench/fleet-scale.ts, CPU profile of the gateway): committing on
// the event loop took 21 % of it, the largest single cost after socket writes,
// and every commit delayed the PUBACKs and CONNACKs of all connections. Here
// the event loop pays only for copying each batch to the thread.
//
// Batches are answered in the order they were sent. If the thread dies, the
// writes it held fail as retriable (ingest retries or spools them) and the next
// write starts a new thread.
import { Worker } from 'node:worker_threads';
import type { Reading } from '../contract/telemetry.js';
import { StoreError } from '../errors.js';
import { type TouchedSeries, writeFailed } from './sqlite-writer.js';
import type { WriterAnswer, WriterRequest } from './sqlite-writer.worker.js';

interface Pending {
  count: number;
  resolve: (series: TouchedSeries) => void;
  reject: (err: StoreError) => void;
}

function spawn(workerData: { file: string; autocheckpointPages: number }): Worker {
  if (import.meta.url.endsWith('.ts')) {
    // Running from TypeScript sources (tests, tsx): the worker loads its module
    // through tsx, since Node 20 ignores `--import` in a worker's execArgv.
    const entry = new URL('./sqlite-writer.worker.ts', import.meta.url).href;
    const source = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`;
    return new Worker(source, { eval: true, workerData });
  }
  return new Worker(new URL('./sqlite-writer.worker.js', import.meta.url), { workerData });
}

export class SqliteWriteThread {
  private worker: Worker | null = null;
  private closed = false;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly file: string,
    private autocheckpointPages: number,
  ) {
    this.start();
  }

  write(readings: readonly Reading[], storedAt: number): Promise<TouchedSeries> {
    if (this.closed) return Promise.reject(new StoreError('the SQLite store is closed', false));
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { count: readings.length, resolve, reject });
      // Held while it owes an answer: a shutdown that awaits this write must not see an empty event loop.
      if (this.pending.size === 1) worker.ref();
      worker.postMessage({ op: 'write', id, readings, storedAt } satisfies WriterRequest);
    });
  }

  setAutocheckpoint(pages: number): void {
    this.autocheckpointPages = pages;
    this.worker?.postMessage({ op: 'autocheckpoint', pages } satisfies WriterRequest);
  }

  /** Closes the thread's connection once the writes sent before have been answered. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    if (!worker) return;
    this.worker = null;
    worker.ref();
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.postMessage({ op: 'close' } satisfies WriterRequest);
    await exited;
  }

  private start(): Worker {
    const worker = spawn({ file: this.file, autocheckpointPages: this.autocheckpointPages });
    this.worker = worker;
    worker.unref();
    worker.on('message', (answer: WriterAnswer) => this.settle(answer, worker));
    worker.once('error', (err) => this.lost(worker, err));
    worker.once('exit', (code) => this.lost(worker, new Error(`the SQLite writer thread exited with code ${code}`)));
    return worker;
  }

  private settle(answer: WriterAnswer, worker: Worker): void {
    const p = this.pending.get(answer.id);
    if (!p) return;
    this.pending.delete(answer.id);
    if (this.pending.size === 0) worker.unref();
    if ('series' in answer) return p.resolve(answer.series);
    p.reject(writeFailed(p.count, Object.assign(new Error(answer.error.message), { code: answer.error.code })));
  }

  /** The thread failed or ended: what it owed fails as retriable, and the next write starts a new one. */
  private lost(worker: Worker, err: Error): void {
    // An 'exit' after its 'error', or after close(): already handled.
    if (this.worker !== worker) return;
    this.worker = null;
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(writeFailed(p.count, err, true));
    }
  }
}
