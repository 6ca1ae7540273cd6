// A TCP proxy between the browser and the gateway that can cut connections
// for real. Chromium's offline emulation (context.setOffline, CDP
// Network.emulateNetworkConditions) does not touch WebSockets or event streams
// that are already open: in Chromium 156 both kept delivering while "offline".
// Destroying the sockets here is what a network drop does: no close frame, no
// end of stream, and reconnects fail until the proxy lets them through again.
import net from 'node:net';

/** What a request asks for, told from its request line. */
export type ConnectionKind = 'websocket' | 'sse' | 'http';

const REQUEST_LINE = /^[A-Z]+ (\S+) HTTP\/1\.1\r\n/;

/** The kind of the request starting this chunk, or null when the chunk continues an earlier one. */
export function requestKind(chunk: Buffer): ConnectionKind | null {
  const path = REQUEST_LINE.exec(chunk.toString('latin1', 0, Math.min(chunk.length, 512)))?.[1];
  if (path === undefined) return null;
  if (/^\/mqtt(\?|$)/.test(path)) return 'websocket';
  if (/^\/api\/devices\/[^/]+\/stream\?/.test(path)) return 'sse';
  return 'http';
}

export interface CutProxy {
  /** http://127.0.0.1:<port>, to open the dashboard through. */
  url: string;
  /** Drops every open connection of these kinds, and drops new requests of them for `downMs`. */
  cut(kinds: ConnectionKind[], downMs: number): void;
  /** Connections dropped or refused so far, by kind. */
  readonly dropped: Record<ConnectionKind, number>;
  close(): Promise<void>;
}

export async function startCutProxy(target: string): Promise<CutProxy> {
  const { hostname, port } = new URL(target);
  const open = new Map<net.Socket, { kind: ConnectionKind; upstream: net.Socket }>();
  const downUntil: Record<ConnectionKind, number> = { websocket: 0, sse: 0, http: 0 };
  const dropped: Record<ConnectionKind, number> = { websocket: 0, sse: 0, http: 0 };

  const drop = (client: net.Socket) => {
    const entry = open.get(client);
    open.delete(client);
    client.destroy();
    entry?.upstream.destroy();
  };

  const server = net.createServer((client) => {
    // Browsers reuse keep-alive connections, so each request is classified, not each connection.
    const entry = { kind: 'http' as ConnectionKind, upstream: net.connect(Number(port), hostname) };
    open.set(client, entry);
    client.on('data', (chunk: Buffer) => {
      if (entry.kind !== 'websocket') entry.kind = requestKind(chunk) ?? entry.kind;
      if (Date.now() < downUntil[entry.kind]) {
        dropped[entry.kind]++;
        drop(client);
        return;
      }
      entry.upstream.write(chunk);
    });
    entry.upstream.pipe(client);
    const end = () => drop(client);
    client.on('error', end).on('close', end);
    entry.upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;

  return {
    url: `http://127.0.0.1:${address.port}`,
    cut(kinds, downMs) {
      for (const kind of kinds) downUntil[kind] = Date.now() + downMs;
      for (const [client, { kind }] of open) {
        if (!kinds.includes(kind)) continue;
        dropped[kind]++;
        drop(client);
      }
    },
    dropped,
    async close() {
      for (const client of open.keys()) drop(client);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
