// Bytes on the wire, headers and framing included, "as near as the client can
// measure" (issue #3). fetch: Resource Timing's transferSize in the browser
// (browser-io.ts), the response's own status line and headers under Node.
// SSE and WebSocket: the browser hides their handshakes and framing, so the
// frames are rebuilt from what the client does see, and the handshakes are the
// gateway's response heads below (test/integration/compare.test.ts checks them
// against the wire). Pure: no DOM, no clock.

const encoder = new TextEncoder();
const CRLF = 2;

export function utf8Bytes(text: string): number {
  return encoder.encode(text).byteLength;
}

/** An HTTP/1.1 response head: status line, one line per header, blank line. */
export function headBytes(statusLine: string, headers: Iterable<readonly [string, string]>): number {
  let total = utf8Bytes(statusLine) + CRLF + CRLF;
  for (const [name, value] of headers) total += utf8Bytes(name) + 2 + utf8Bytes(value) + CRLF;
  return total;
}

/** The head of a fetch Response, as far as its Headers show it. */
export function responseHeadBytes(res: Response): number {
  return headBytes(`HTTP/1.1 ${res.status} ${res.statusText || 'OK'}`, res.headers);
}

/** One chunk of `Transfer-Encoding: chunked` (RFC 9112 §7.1): hex size, CRLF, data, CRLF. */
export function chunkBytes(payloadBytes: number): number {
  return payloadBytes.toString(16).length + CRLF + payloadBytes + CRLF;
}

/** One SSE event as the gateway writes it (broker/api/stream.ts), one chunk per event. */
export function sseEventBytes(id: string, data: string): number {
  return chunkBytes(utf8Bytes(`id: ${id}\ndata: ${data}\n\n`));
}

/** A server-to-client WebSocket frame (RFC 6455 §5.2): unmasked, 2, 4 or 10 header bytes. */
export function wsFrameBytes(payloadBytes: number): number {
  const header = payloadBytes < 126 ? 2 : payloadBytes < 65_536 ? 4 : 10;
  return header + payloadBytes;
}

/** The gateway's SSE response head and its first chunk (`retry: 1000`), with a Date header of fixed width. */
export const SSE_HANDSHAKE_BYTES =
  headBytes('HTTP/1.1 200 OK', [
    ['content-type', 'text/event-stream; charset=utf-8'],
    ['cache-control', 'no-store'],
    ['x-accel-buffering', 'no'],
    ['Date', 'Sat, 28 Nov 2026 11:21:07 GMT'],
    ['Connection', 'keep-alive'],
    ['Keep-Alive', 'timeout=72'],
    ['Transfer-Encoding', 'chunked'],
  ]) + chunkBytes(utf8Bytes('retry: 1000\n\n'));

/** The gateway's `101 Switching Protocols` for MQTT over WebSocket (ws 8). */
export const WS_HANDSHAKE_BYTES = headBytes('HTTP/1.1 101 Switching Protocols', [
  ['Upgrade', 'websocket'],
  ['Connection', 'Upgrade'],
  ['Sec-WebSocket-Accept', 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='],
  ['Sec-WebSocket-Protocol', 'mqtt'],
]);

/** Measures one HTTP exchange; `done` resolves to its bytes received, headers included. */
export interface TransferTicket {
  done(res: Response, bodyBytes: number): Promise<number>;
  /** The request was aborted: nothing will be measured. */
  cancel(): void;
}

/** Taken out before a request is sent, so a measurement that arrives with the response cannot be missed. */
export interface TransferMeter {
  track(url: string): TransferTicket;
}

/** Head plus body as received; what Node's fetch allows, and the browser's fallback. */
export const headerMeter: TransferMeter = {
  track: () => ({
    done: async (res, bodyBytes) => responseHeadBytes(res) + bodyBytes,
    cancel: () => undefined,
  }),
};
