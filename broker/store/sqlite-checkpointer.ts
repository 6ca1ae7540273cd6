// WAL checkpoints off the event loop. In WAL mode with synchronous=NORMAL a
// commit only appends to the WAL; the checkpoint that copies the WAL back into
// the database file is the step that fsyncs, and by default it runs inside the
// commit that crosses wal_autocheckpoint, on the event loop. Here a worker
// thread with its own connection runs PASSIVE checkpoints on a timer: they
// never wait for the writer and the writer never waits for them.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

// Plain CommonJS evaluated by the worker, so it runs the same from TypeScript
// sources (tests, tsx) and from dist/ without a separate worker file to build.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
const timer = setInterval(() => db.pragma('wal_checkpoint(PASSIVE)'), workerData.intervalMs);
parentPort.once('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});`;

export interface CheckpointerOptions {
  file: string;
  intervalMs: number;
  /** Called once if the worker fails; the store then checkpoints on its own connection again. */
  onError: (err: Error) => void;
}

export class Checkpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;

  constructor(opts: CheckpointerOptions) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, file: opts.file, intervalMs: opts.intervalMs } });
    this.worker.once('error', opts.onError);
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    // The worker must not keep the process alive on its own: the store's close() ends it.
    this.worker.unref();
  }

  /** Stops the timer and closes the worker's connection before the store closes its own. */
  async close(): Promise<void> {
    // Referenced again while it stops, or an otherwise idle process would exit before close() resolves.
    this.worker.ref();
    this.worker.postMessage('stop');
    await this.exited;
  }
}
