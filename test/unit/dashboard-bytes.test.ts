import { describe, expect, it } from 'vitest';
import {
  chunkBytes, headBytes, headerMeter, responseHeadBytes, SSE_HANDSHAKE_BYTES, sseEventBytes, utf8Bytes, WS_HANDSHAKE_BYTES, wsFrameBytes,
} from '../../dashboard/bytes.js';

describe('dashboard byte model', () => {
  it('counts an HTTP head as status line, header lines and the blank line, in UTF-8', () => {
    const head = 'HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nx-name: é\r\n\r\n';
    expect(headBytes('HTTP/1.1 200 OK', [['content-type', 'text/plain'], ['x-name', 'é']])).toBe(utf8Bytes(head));
    expect(utf8Bytes('é')).toBe(2);
  });

  it('counts a fetch Response head from its status and headers', () => {
    const res = new Response('{}', { status: 404, statusText: 'Not Found', headers: { 'content-type': 'application/json' } });
    expect(responseHeadBytes(res)).toBe(utf8Bytes('HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\n\r\n'));
  });

  it('adds chunked framing: hex size, CRLF, data, CRLF', () => {
    expect(chunkBytes(13)).toBe(1 + 2 + 13 + 2);
    expect(chunkBytes(300)).toBe(3 + 2 + 300 + 2);
  });

  it('rebuilds an SSE event as the gateway writes it', () => {
    const data = '[1,2,3,4,5]';
    expect(sseEventBytes('42', data)).toBe(chunkBytes(utf8Bytes(`id: 42\ndata: ${data}\n\n`)));
  });

  it('adds the WebSocket frame header by payload length', () => {
    expect(wsFrameBytes(125)).toBe(127);
    expect(wsFrameBytes(126)).toBe(130);
    expect(wsFrameBytes(65_536)).toBe(65_546);
  });

  it('models the gateway handshakes at plausible sizes (the integration test checks them on the wire)', () => {
    expect(SSE_HANDSHAKE_BYTES).toBeGreaterThan(200);
    expect(SSE_HANDSHAKE_BYTES).toBeLessThan(400);
    expect(WS_HANDSHAKE_BYTES).toBeGreaterThan(100);
    expect(WS_HANDSHAKE_BYTES).toBeLessThan(200);
  });

  it('measures head plus body where no Resource Timing exists', async () => {
    const res = new Response('abc', { headers: { a: 'b' } });
    expect(await headerMeter.track('http://x/').done(res, 3)).toBe(responseHeadBytes(res) + 3);
  });
});
