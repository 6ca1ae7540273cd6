import { describe, expect, it } from 'vitest';
import type { SseHandlers } from '../../dashboard/sse-source.js';
import { nodeEventSource, splitLines } from '../../lab/event-source.js';

const encoder = new TextEncoder();

/** A text/event-stream response delivering `chunks` one by one, then ending. */
function stream(chunks: string[], status = 200, type = 'text/event-stream'): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
  return new Response(body, { status, headers: { 'content-type': type } });
}

function record() {
  const log: string[] = [];
  const handlers: SseHandlers = {
    open: () => log.push('open'),
    message: (data, id) => log.push(`message ${id} ${data}`),
    error: (willRetry) => log.push(`error ${willRetry}`),
  };
  return { log, handlers };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(check()).toBe(true);
}

describe('lab EventSource for Node', () => {
  it('splits lines on CRLF, LF and CR, holding back a CR that may start a CRLF', () => {
    expect(splitLines('a\r\nb\nc\rd')).toEqual({ lines: ['a', 'b', 'c'], rest: 'd' });
    expect(splitLines('b\na\r')).toEqual({ lines: ['b'], rest: 'a\r' });
    expect(splitLines('a\r' + '\n')).toEqual({ lines: ['a'], rest: '' });
    expect(splitLines('\r' + '\nb\n')).toEqual({ lines: ['', 'b'], rest: '' });
  });

  it('parses events across chunk boundaries: ids, multi-line data, comments; then reconnects with Last-Event-ID after `retry`', async () => {
    const requests: Record<string, string>[] = [];
    const answers = [
      stream(['retry: 20\n\n: heartbeat\n', 'id: 7\ndata: [1,', '2]\r', '\n\r\nid: 8\ndata: a\ndata: b\n\n', 'data: no id\n\n']),
      stream(['id: 9\ndata: c\n\n']),
    ];
    const fetchFn = (async (_url: string, init: RequestInit) => {
      requests.push(init.headers as Record<string, string>);
      return answers.shift() ?? new Promise<Response>(() => undefined);
    }) as unknown as typeof fetch;
    const { log, handlers } = record();
    const es = nodeEventSource({ fetch: fetchFn })('http://gw/stream', handlers);
    await until(() => log.includes('message 9 c'));
    es.close();

    expect(log).toEqual(['open', 'message 7 [1,2]', 'message 8 a\nb', 'message 8 no id', 'error true', 'open', 'message 9 c', 'error true']);
    expect(requests[0]).toEqual({ accept: 'text/event-stream', 'cache-control': 'no-store' });
    expect(requests[1]!['last-event-id']).toBe('8');
  });

  it('gives up for good on an HTTP error or another content type', async () => {
    let calls = 0;
    const fetchFn = (async () => {
      calls++;
      return stream(['{}'], 503, 'application/json');
    }) as unknown as typeof fetch;
    const { log, handlers } = record();
    nodeEventSource({ fetch: fetchFn, retryMs: 5 })('http://gw/stream', handlers);
    await until(() => log.length > 0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(log).toEqual(['error false']);
    expect(calls).toBe(1);
  });

  it('retries after a network error, and reports nothing once closed', async () => {
    let calls = 0;
    const fetchFn = (async () => {
      calls++;
      throw new TypeError('connect ECONNREFUSED');
    }) as unknown as typeof fetch;
    const { log, handlers } = record();
    const es = nodeEventSource({ fetch: fetchFn, retryMs: 5 })('http://gw/stream', handlers);
    await until(() => calls >= 3);
    es.close();
    const seen = log.length;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(log.length).toBe(seen);
    expect(log.every((line) => line === 'error true')).toBe(true);
  });
});
