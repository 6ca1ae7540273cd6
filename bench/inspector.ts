// A client of a Node process's inspector (Chrome DevTools Protocol) for the
// benchmarks that measure memory: a forced full GC before a sample, so garbage
// not yet collected does not count as what connections cost.
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';

/** The few Chrome DevTools Protocol calls the measurement needs. */
export class Inspector {
  private id = 0;
  private readonly pending = new Map<number, (result: unknown) => void>();
  private chunks: string[] = [];

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as { id?: number; result?: unknown; method?: string; params?: { chunk: string } };
      if (msg.id !== undefined) this.pending.get(msg.id)?.(msg.result);
      else if (msg.method === 'HeapProfiler.addHeapSnapshotChunk') this.chunks.push(msg.params!.chunk);
    });
  }

  /** Connects to the inspector on `port`, waiting up to `waitMs` for it to listen (SIGUSR1 starts it a moment later). */
  static async open(port: number, waitMs = 5_000): Promise<Inspector> {
    const [target] = (await Inspector.list(port, waitMs)) as Array<{ webSocketDebuggerUrl: string }>;
    const ws = new WebSocket(target!.webSocketDebuggerUrl, { maxPayload: 2 ** 30 });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    return new Inspector(ws);
  }

  private static async list(port: number, waitMs: number): Promise<unknown[]> {
    const until = Date.now() + waitMs;
    for (;;) {
      try {
        return (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as unknown[];
      } catch (err) {
        if (Date.now() > until) throw new Error(`no inspector on port ${port}`, { cause: err });
        await sleep(50);
      }
    }
  }

  call(method: string, params: object = {}): Promise<unknown> {
    const id = ++this.id;
    this.ws.send(JSON.stringify({ id, method, params }));
    return new Promise((resolve) => this.pending.set(id, resolve));
  }

  /** A full collection; twice, since the first pass can leave weakly held objects for the second. */
  async collectGarbage(): Promise<void> {
    await this.call('HeapProfiler.collectGarbage');
    await this.call('HeapProfiler.collectGarbage');
  }

  async memory(): Promise<{ heapUsed: number; external: number; arrayBuffers: number }> {
    await this.collectGarbage();
    const result = (await this.call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true })) as { result: { value: string } };
    return JSON.parse(result.result.value) as { heapUsed: number; external: number; arrayBuffers: number };
  }

  async snapshot(file: string): Promise<void> {
    this.chunks = [];
    await this.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
    fs.writeFileSync(file, this.chunks.join(''));
    this.chunks = [];
  }

  close(): void {
    this.ws.close();
  }
}
