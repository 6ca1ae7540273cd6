// EventSource for Node (Node 20 has none), over fetch, with the browser's
// behaviour as the HTML standard defines it (§9.2 "Server-sent events"): it
// parses the event stream, remembers the last event id, and after a network
// error or the end of the stream reconnects by itself after `retry` ms with
// Last-Event-ID; a non-200 answer or another content type closes it for good.
// It implements the dashboard's SseConnect, so the lab's SSE clients run the
// same sse-source.ts as the page.
import type { SseConnect, SseHandlers } from '../dashboard/sse-source.js';

export interface NodeEventSourceOptions {
  fetch?: typeof fetch;
  /** Reconnection time until the stream sets one with `retry:`. */
  retryMs?: number;
}

/** Feeds decoded text to the event-stream parser; returns the complete lines, keeping a partial one. */
export function splitLines(buffer: string): { lines: string[]; rest: string } {
  // A CR at the end may be the first half of a CRLF: keep it and its line for the next chunk.
  const held = buffer.endsWith('\r') ? '\r' : '';
  const lines = buffer.slice(0, buffer.length - held.length).split(/\r\n|\r|\n/);
  return { lines, rest: lines.pop()! + held };
}

export function nodeEventSource(options: NodeEventSourceOptions = {}): SseConnect {
  const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
  return (url: string, handlers: SseHandlers) => {
    let closed = false;
    let retryMs = options.retryMs ?? 1000;
    let lastEventId = '';
    let controller: AbortController | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;

    function reconnectLater(): void {
      if (closed) return;
      handlers.error(true);
      timer = setTimeout(() => void connect(), retryMs);
    }

    async function connect(): Promise<void> {
      controller = new AbortController();
      let res: Response;
      try {
        const headers: Record<string, string> = { accept: 'text/event-stream', 'cache-control': 'no-store' };
        if (lastEventId !== '') headers['last-event-id'] = lastEventId;
        res = await fetchFn(url, { headers, signal: controller.signal });
      } catch {
        reconnectLater();
        return;
      }
      if (closed) return;
      if (res.status !== 200 || !(res.headers.get('content-type') ?? '').startsWith('text/event-stream') || !res.body) {
        await res.body?.cancel();
        closed = true;
        handlers.error(false);
        return;
      }
      handlers.open();

      const decoder = new TextDecoder();
      let pending = '';
      let data: string[] = [];
      let idBuffer = lastEventId;
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          const { lines, rest } = splitLines(pending + decoder.decode(chunk, { stream: true }));
          pending = rest;
          for (const line of lines) {
            if (closed) return;
            if (line === '') {
              lastEventId = idBuffer;
              if (data.length > 0) handlers.message(data.join('\n'), lastEventId);
              data = [];
              continue;
            }
            if (line.startsWith(':')) continue;
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'data') data.push(value);
            else if (field === 'id' && !value.includes('\0')) idBuffer = value;
            else if (field === 'retry' && /^\d+$/.test(value)) retryMs = Number(value);
          }
        }
      } catch {
        // The connection dropped mid-stream; handled like its end.
      }
      reconnectLater();
    }

    void connect();
    return {
      close() {
        closed = true;
        clearTimeout(timer);
        controller?.abort();
      },
    };
  };
}
