// The browser's side of the sources' I/O: Resource Timing for fetch sizes, the
// native EventSource, the native WebSocket. lab/ supplies Node's equivalents.
import { headerMeter, responseHeadBytes, utf8Bytes, WS_HANDSHAKE_BYTES, wsFrameBytes, type TransferMeter } from './bytes.js';
import type { WsConnect } from './live-source.js';
import type { SseConnect } from './sse-source.js';

/**
 * transferSize of each fetch from Resource Timing: response head plus body as
 * they crossed the network. Entries are matched to requests by URL, first in
 * first out; two requests for the same URL get sizes that differ by a byte or
 * two at most, so a swap does not matter. Without an entry (no support, or a
 * transferSize of 0 from a cache) the response's own head plus body is used.
 */
export function resourceTimingMeter(fallbackMs = 2000): TransferMeter {
  if (typeof PerformanceObserver === 'undefined') return headerMeter;
  const waiting = new Map<string, ((size: number) => void)[]>();
  const remove = (name: string, resolve: (size: number) => void) => {
    const queue = waiting.get(name);
    const at = queue?.indexOf(resolve) ?? -1;
    if (at >= 0) queue!.splice(at, 1);
    if (queue?.length === 0) waiting.delete(name);
  };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries() as PerformanceResourceTiming[]) {
      const resolve = waiting.get(entry.name)?.[0];
      if (!resolve) continue;
      remove(entry.name, resolve);
      resolve(entry.transferSize);
    }
  }).observe({ type: 'resource' });
  // The observer sees every entry; the page's own entry buffer would otherwise grow to its cap and stay there.
  performance.addEventListener('resourcetimingbufferfull', () => performance.clearResourceTimings());

  return {
    track(url) {
      const name = new URL(url, location.href).href;
      let resolveEntry!: (size: number) => void;
      const entry = new Promise<number>((resolve) => (resolveEntry = resolve));
      waiting.set(name, [...(waiting.get(name) ?? []), resolveEntry]);
      return {
        async done(res, bodyBytes) {
          let timer: ReturnType<typeof setTimeout> | undefined;
          const late = new Promise<number>((resolve) => (timer = setTimeout(() => resolve(0), fallbackMs)));
          const size = await Promise.race([entry, late]);
          clearTimeout(timer);
          remove(name, resolveEntry);
          return size > 0 ? size : responseHeadBytes(res) + bodyBytes;
        },
        cancel: () => remove(name, resolveEntry),
      };
    },
  };
}

/** The native EventSource: it reconnects by itself after a network error, sending Last-Event-ID. */
export const connectEventSource: SseConnect = (url, handlers) => {
  const es = new EventSource(url);
  es.onopen = () => handlers.open();
  es.onmessage = (event: MessageEvent<string>) => handlers.message(event.data, event.lastEventId);
  es.onerror = () => handlers.error(es.readyState === EventSource.CONNECTING);
  return { close: () => es.close() };
};

/** The native WebSocket, counting each frame it delivers; its handshake is invisible to a page, so the gateway's is assumed. */
export const browserWebSocket: WsConnect = (url, protocols, meter) => {
  const ws = new WebSocket(url, protocols);
  ws.binaryType = 'arraybuffer';
  ws.addEventListener('open', () => meter.handshake(WS_HANDSHAKE_BYTES));
  ws.addEventListener('message', (event: MessageEvent<ArrayBuffer | string>) => {
    meter.frame(wsFrameBytes(typeof event.data === 'string' ? utf8Bytes(event.data) : event.data.byteLength));
  });
  return ws;
};
