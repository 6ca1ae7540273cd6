// MQTT over WebSocket [MQTT-6.0] for lean-publisher.ts, client side: the
// opening handshake and the framing of RFC 6455, nothing more (no
// extensions, no fragmented sends, no closing handshake: a load generator
// that is closed has failed). No sockets here: WsClient writes through a
// callback and is fed the socket's reads, so every byte can be tested.
import { createHash, randomBytes, randomFillSync } from 'node:crypto';

/** [RFC 6455 §1.3] */
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** Opcodes [RFC 6455 §5.2]. */
export const CONTINUATION = 0x0;
export const TEXT = 0x1;
export const BINARY = 0x2;
export const CLOSE = 0x8;
export const PING = 0x9;
export const PONG = 0xa;
const HEAD_END = Buffer.from('\r\n\r\n');
/** A response head longer than this is not the handshake's. */
const MAX_HEAD_BYTES = 8192;
/** Mask keys drawn per crypto call: 1,024 frames' worth. */
const KEY_BLOCK_BYTES = 4096;

export function acceptKey(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

/** The opening handshake's request [RFC 6455 §4.1], asking for the `mqtt` subprotocol [MQTT-6.0.0-3]. */
function upgradeRequest(host: string, path: string, key: string): string {
  return [
    `GET ${path} HTTP/1.1`, `Host: ${host}`, 'Upgrade: websocket', 'Connection: Upgrade',
    `Sec-WebSocket-Key: ${key}`, 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Protocol: mqtt', '', '',
  ].join('\r\n');
}

/** Throws unless `head`, the response up to its blank line, accepts the upgrade asked for with `key` [RFC 6455 §4.1]. */
export function checkUpgradeResponse(head: string, key: string): void {
  const [status = '', ...lines] = head.split('\r\n');
  if (!/^HTTP\/1\.1 101\b/.test(status)) throw new Error(`WebSocket upgrade refused: ${status}`);
  const headers = new Map(lines.map((line) => {
    const colon = line.indexOf(':');
    return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
  }));
  if (headers.get('sec-websocket-accept') !== acceptKey(key)) throw new Error('WebSocket upgrade: wrong or missing Sec-WebSocket-Accept');
  const protocol = headers.get('sec-websocket-protocol');
  if (protocol !== 'mqtt') throw new Error(`WebSocket upgrade: subprotocol ${protocol ?? '(none)'}, not mqtt [MQTT-6.0.0-4]`);
}

/**
 * Client-to-server frames [RFC 6455 §5.2]: FIN set, masked as clients must
 * [§5.3]. The mask keys come from a block of random bytes filled at once,
 * since a crypto call per frame would cost more than the masking itself.
 */
export class FrameEncoder {
  private readonly keys = Buffer.allocUnsafe(KEY_BLOCK_BYTES);
  private at = KEY_BLOCK_BYTES;

  /** `fill` refills the key block; tests pass a fixed one. */
  constructor(private readonly fill: (block: Buffer) => void = randomFillSync) {}

  encode(opcode: number, payload: Buffer): Buffer {
    const n = payload.length;
    const lengthBytes = n < 126 ? 0 : n < 65_536 ? 2 : 8;
    const key = 2 + lengthBytes;
    const out = Buffer.allocUnsafe(key + 4 + n);
    out[0] = 0x80 | opcode;
    if (lengthBytes === 0) {
      out[1] = 0x80 | n;
    } else if (lengthBytes === 2) {
      out[1] = 0x80 | 126;
      out.writeUInt16BE(n, 2);
    } else {
      out[1] = 0x80 | 127;
      out.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
      out.writeUInt32BE(n >>> 0, 6);
    }
    if (this.at === KEY_BLOCK_BYTES) {
      this.fill(this.keys);
      this.at = 0;
    }
    this.keys.copy(out, key, this.at, this.at + 4);
    this.at += 4;
    const body = key + 4;
    for (let i = 0; i < n; i++) out[body + i] = payload[i]! ^ out[key + (i & 3)]!;
    return out;
  }
}

/**
 * Splits the server's frames [RFC 6455 §5.2] whatever the reads' boundaries.
 * A data frame's payload goes to onData piece by piece as it arrives (the
 * MQTT PacketReader joins packets across pieces, so nothing is copied here);
 * a control frame, at most 125 bytes [§5.5], goes to onControl whole.
 * Payloads are valid only during the call.
 */
export class FrameReader {
  private rest: Buffer | null = null;
  /** Payload bytes of the current data frame still to come. */
  private left = 0;

  constructor(
    private readonly onData: (payload: Buffer) => void,
    private readonly onControl: (opcode: number, payload: Buffer) => void,
  ) {}

  push(chunk: Buffer): void {
    const data = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    let at = 0;
    while (at < data.length) {
      if (this.left > 0) {
        const end = Math.min(data.length, at + this.left);
        this.left -= end - at;
        this.onData(data.subarray(at, end));
        at = end;
        continue;
      }
      if (data.length - at < 2) break;
      const opcode = data[at]! & 0x0f;
      if (data[at]! & 0x70) throw new Error('WebSocket frame with reserved bits set, but no extension was negotiated [RFC 6455 §5.2]');
      if (data[at + 1]! & 0x80) throw new Error('masked WebSocket frame from the server [RFC 6455 §5.1]');
      let length = data[at + 1]! & 0x7f;
      let start = at + 2;
      if (length === 126) {
        if (data.length < at + 4) break;
        length = data.readUInt16BE(at + 2);
        start = at + 4;
      } else if (length === 127) {
        if (data.length < at + 10) break;
        length = data.readUInt32BE(at + 2) * 2 ** 32 + data.readUInt32BE(at + 6);
        start = at + 10;
      }
      if (opcode === BINARY || opcode === CONTINUATION) {
        this.left = length;
        at = start;
        continue;
      }
      if (opcode === TEXT) throw new Error('WebSocket text frame: MQTT travels in binary frames [MQTT-6.0.0-1]');
      if (opcode !== CLOSE && opcode !== PING && opcode !== PONG) throw new Error(`WebSocket frame with unknown opcode ${opcode}`);
      if (length > 125) throw new Error(`WebSocket control frame of ${length} bytes, over 125 [RFC 6455 §5.5]`);
      if (data.length < start + length) break;
      this.onControl(opcode, data.subarray(start, start + length));
      at = start + length;
    }
    this.rest = at < data.length ? Buffer.from(data.subarray(at)) : null;
  }
}

/** Where a WebSocket connects: the URL's host (with port) and path (with query). */
export interface WsTarget {
  host: string;
  path: string;
}

/**
 * The client side of one WebSocket carrying MQTT, as lean-publisher.ts's
 * Link: it writes through `write` and is fed the socket's reads. The first
 * packet waits for the server's handshake response [RFC 6455 §4.1]; bytes
 * after that response in the same read are already frames. Each send is one
 * binary frame, whether it holds one MQTT packet or several [MQTT-6.0.0-2].
 */
export class WsClient {
  /** While handshaking: the key asked with, the packet held back, the response so far. */
  private handshake: { key: string; first: Buffer; head: Buffer } | null = null;
  private readonly reader: FrameReader;

  constructor(
    private readonly write: (bytes: Buffer) => void,
    private readonly frames: FrameEncoder,
    private readonly target: WsTarget,
    onMqtt: (bytes: Buffer) => void,
  ) {
    this.reader = new FrameReader(onMqtt, (opcode, payload) => this.control(opcode, payload));
  }

  open(first: Buffer): void {
    const key = randomBytes(16).toString('base64');
    this.handshake = { key, first, head: Buffer.alloc(0) };
    this.write(Buffer.from(upgradeRequest(this.target.host, this.target.path, key), 'latin1'));
  }

  /** After the handshake only: the caller sends nothing before the CONNACK that answers `first`. */
  send(packets: Buffer): void {
    this.write(this.frames.encode(BINARY, packets));
  }

  receive(chunk: Buffer): void {
    if (this.handshake) {
      const head = this.handshake.head.length > 0 ? Buffer.concat([this.handshake.head, chunk]) : chunk;
      const end = head.indexOf(HEAD_END);
      if (end < 0) {
        if (head.length > MAX_HEAD_BYTES) throw new Error(`no end to the WebSocket handshake response in ${head.length} bytes`);
        this.handshake.head = head;
        return;
      }
      checkUpgradeResponse(head.toString('latin1', 0, end), this.handshake.key);
      const { first } = this.handshake;
      this.handshake = null;
      this.send(first);
      chunk = head.subarray(end + HEAD_END.length);
      if (chunk.length === 0) return;
    }
    this.reader.push(chunk);
  }

  private control(opcode: number, payload: Buffer): void {
    // [RFC 6455 §5.5.2]: a pong with the ping's payload.
    if (opcode === PING) this.write(this.frames.encode(PONG, payload));
    if (opcode === CLOSE) {
      const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      const reason = payload.toString('utf8', 2);
      throw new Error(`WebSocket closed by the server: ${code}${reason ? ` (${reason})` : ''}`);
    }
  }
}
