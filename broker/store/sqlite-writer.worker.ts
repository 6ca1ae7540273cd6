// Worker-thread entry of the SQLite writer (sqlite-write-thread.ts starts it):
// one message per batch in, one answer per batch out, in order.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { Reading } from '../contract/telemetry.js';
import { configure, SqliteWriter } from './sqlite-writer.js';

export type WriterRequest =
  | { op: 'write'; id: number; readings: readonly Reading[]; storedAt: number }
  | { op: 'autocheckpoint'; pages: number }
  | { op: 'close' };

export type WriterAnswer =
  | { id: number; series: ReturnType<SqliteWriter['write']> }
  | { id: number; error: { message: string; code: string | undefined } };

const port = parentPort!;
const { file, autocheckpointPages } = workerData as { file: string; autocheckpointPages: number };
// The store's own connection created and migrated the file before starting this thread.
const db = new Database(file, { fileMustExist: true });
configure(db);
const writer = new SqliteWriter(db);
writer.setAutocheckpoint(autocheckpointPages);

port.on('message', (msg: WriterRequest) => {
  switch (msg.op) {
    case 'write':
      try {
        port.postMessage({ id: msg.id, series: writer.write(msg.readings, msg.storedAt) } satisfies WriterAnswer);
      } catch (err) {
        const { message, code } = err as { message: string; code?: string };
        port.postMessage({ id: msg.id, error: { message, code } } satisfies WriterAnswer);
      }
      return;
    case 'autocheckpoint':
      writer.setAutocheckpoint(msg.pages);
      return;
    case 'close':
      db.close();
      port.close();
  }
});
