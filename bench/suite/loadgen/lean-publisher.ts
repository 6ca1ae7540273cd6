// The publisher of the ingest and fixed-rate scenarios: one net.Socket per
// device that speaks only the MQTT 3.1.1 it needs (CONNECT, QoS 1 PUBLISH,
// PUBACK, PINGREQ), as it is over TCP or in WebSocket frames (lean-ws.ts).
// On this 2-core machine the two MQTT.js publishing processes spent ~19 µs of
// CPU per reading, more than the gateway's event loop (~14 µs), so the
// generator took a third of the cores it was measuring. Here a turn's
// publishes are encoded by hand into one Buffer and written at once, and a
// read's PUBACKs are counted without an object per packet.
import net from 'node:net';
import { CONNECT_TIMEOUT_MS, type Connector } from './connect.js';
import type { Account } from './protocol.js';
import { FrameEncoder, WsClient, type WsTarget } from './lean-ws.js';

const CONNACK = 2;
const PUBACK = 4;
const PINGRESP = 13;
const PINGREQ = Buffer.from([0xc0, 0]);
/** [MQTT-3.2.2.3] Table 3.1, by return code. */
const REFUSALS = ['', 'unacceptable protocol version', 'identifier rejected', 'server unavailable', 'bad user name or password', 'not authorized'];

/** Bytes of a Remaining Length [MQTT-2.2.3]: 7 bits per byte. */
function varintLength(value: number): number {
  return value < 128 ? 1 : value < 16_384 ? 2 : value < 2_097_152 ? 3 : 4;
}

function writeVarint(out: Buffer, at: number, value: number): number {
  do {
    const low = value % 128;
    value = Math.floor(value / 128);
    out[at++] = value > 0 ? low | 128 : low;
  } while (value > 0);
  return at;
}

/** CONNECT [MQTT-3.1]: protocol level 4, clean session, the account's login. */
export function encodeConnect(account: Account, keepaliveS: number): Buffer {
  if (account.password !== undefined && account.username === undefined) throw new Error('a password needs a user name [MQTT-3.1.2-22]');
  const flags = 0x02 | (account.username !== undefined ? 0x80 : 0) | (account.password !== undefined ? 0x40 : 0);
  const strings = [account.clientId, account.username, account.password].flatMap((s) => {
    if (s === undefined) return [];
    const bytes = Buffer.from(s, 'utf8');
    return [Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes];
  });
  const body = Buffer.concat([Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, flags, keepaliveS >> 8, keepaliveS & 0xff]), ...strings]);
  const out = Buffer.allocUnsafe(1 + varintLength(body.length) + body.length);
  out[0] = 0x10;
  body.copy(out, writeVarint(out, 1, body.length));
  return out;
}

/** QoS 1 PUBLISHes [MQTT-3.3] to `topic` (its UTF-8 bytes), message ids[i] carrying payloads[i], back to back in one Buffer. */
export function encodePublishes(topic: Buffer, ids: readonly number[], payloads: readonly string[]): Buffer {
  const remaining = payloads.map((p) => 2 + topic.length + 2 + Buffer.byteLength(p));
  const out = Buffer.allocUnsafe(remaining.reduce((size, r) => size + 1 + varintLength(r) + r, 0));
  let at = 0;
  for (let i = 0; i < payloads.length; i++) {
    out[at++] = 0x32; // PUBLISH, QoS 1, neither DUP nor RETAIN
    at = writeVarint(out, at, remaining[i]!);
    at = out.writeUInt16BE(topic.length, at);
    at += topic.copy(out, at);
    at = out.writeUInt16BE(ids[i]!, at);
    at += out.write(payloads[i]!, at, 'utf8');
  }
  return out;
}

/** The first message id after `last` that is not awaiting its PUBACK, cycling 1..65535 (0 is not allowed [MQTT-2.3.1-1]). */
export function nextMessageId(inUse: Uint8Array, last: number): number {
  for (let k = 0; k < 65_535; k++) {
    last = (last % 65_535) + 1;
    if (inUse[last] === 0) return last;
  }
  throw new Error('all 65535 message ids are in flight');
}

/**
 * Splits a byte stream into MQTT packets, whatever the reads' boundaries: a
 * packet (or its header) cut across reads waits for the rest. Each packet
 * goes to onPacket as its type, flags and where its body lies in `data`,
 * valid only during the call.
 */
export class PacketReader {
  private rest: Buffer | null = null;

  constructor(private readonly onPacket: (type: number, flags: number, data: Buffer, at: number, length: number) => void) {}

  push(chunk: Buffer): void {
    const data = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    let at = 0;
    for (;;) {
      let length = 0;
      let i = at + 1;
      let complete = false;
      for (let shift = 1; i < data.length && !complete; i++, shift *= 128) {
        if (i === at + 5) throw new Error('malformed Remaining Length [MQTT-2.2.3]');
        length += (data[i]! & 127) * shift;
        complete = data[i]! < 128;
      }
      if (!complete || i + length > data.length) break;
      this.onPacket(data[at]! >> 4, data[at]! & 15, data, i, length);
      at = i + length;
    }
    this.rest = at < data.length ? Buffer.from(data.subarray(at)) : null;
  }
}

/** How a connection's MQTT packets travel on its socket: as they are, or in WebSocket frames (lean-ws.ts's WsClient). */
interface Link {
  /** Starts the link; `first` (the CONNECT) goes out as soon as the link carries MQTT. */
  open(first: Buffer): void;
  /** Sends one or more whole MQTT packets. */
  send(packets: Buffer): void;
  /** Takes one read off the socket and passes its MQTT bytes on; throws on anything the link cannot carry. */
  receive(chunk: Buffer): void;
}

type LinkOver = (socket: net.Socket, onMqtt: (bytes: Buffer) => void) => Link;

const tcpLink: LinkOver = (socket, onMqtt) => ({
  open: (first) => socket.write(first),
  send: (packets) => socket.write(packets),
  receive: onMqtt,
});

/** One device's connection, up after its CONNACK. */
export class LeanConnection {
  inflight = 0;
  seq = 0;
  /** MQTT writes so far, the CONNECT included: keep-alive counts these, not socket bytes, which include WebSocket pongs the broker's MQTT layer never sees. */
  writes = 0;
  /** What publishLean does with a read's PUBACKs and with a broken connection. */
  onAcks: (count: number) => void = () => {};
  onFailure: (err: Error) => void = () => {};
  private lastId = 0;
  private readonly inUse = new Uint8Array(65_536);

  constructor(readonly socket: net.Socket, private readonly link: Link, readonly clientId: string, readonly topic: Buffer) {}

  open(connect: Buffer): void {
    this.writes += 1;
    this.link.open(connect);
  }

  send(packets: Buffer): void {
    this.writes += 1;
    this.link.send(packets);
  }

  publish(payloads: readonly string[]): void {
    const ids = payloads.map(() => {
      this.lastId = nextMessageId(this.inUse, this.lastId);
      this.inUse[this.lastId] = 1;
      return this.lastId;
    });
    this.inflight += payloads.length;
    this.send(encodePublishes(this.topic, ids, payloads));
  }

  /** False for an id that was not in flight: the broker and this client disagree, so the counts would be wrong. */
  acknowledge(id: number): boolean {
    if (this.inUse[id] !== 1) return false;
    this.inUse[id] = 0;
    this.inflight -= 1;
    return true;
  }
}

const wsLink = (target: WsTarget): LinkOver => {
  // One encoder for all of a process's WebSockets: it draws mask keys in blocks.
  const frames = new FrameEncoder();
  return (socket, onMqtt) => new WsClient((bytes) => socket.write(bytes), frames, target, onMqtt);
};

/** Connects devices over mqtt://host:port or ws://host:port/path; rejects on a refused CONNACK or upgrade, anything else first, or a timeout. */
export function leanConnector(url: string, keepaliveS: number): Connector<LeanConnection> {
  const { protocol, hostname, host, port, pathname, search } = new URL(url);
  if (protocol !== 'mqtt:' && protocol !== 'ws:') throw new Error(`the lean publisher speaks MQTT over TCP or WebSocket only, not ${url}`);
  const linkOver = protocol === 'mqtt:' ? tcpLink : wsLink({ host, path: pathname + search });
  const address = { host: hostname, port: Number(port || (protocol === 'mqtt:' ? 1883 : 80)), noDelay: true };
  return (account, onClose) => connectOne(net.connect(address), linkOver, account, keepaliveS, onClose);
}

function connectOne(socket: net.Socket, linkOver: LinkOver, account: Account, keepaliveS: number, onClose: () => void): Promise<LeanConnection> {
  return new Promise((resolve, reject) => {
    const link = linkOver(socket, (bytes) => reader.push(bytes));
    const conn = new LeanConnection(socket, link, account.clientId, Buffer.from(`devices/${account.clientId}/telemetry`));
    let up = false;
    let acks = 0;
    const fail = (err: Error) => {
      socket.destroy();
      if (up) conn.onFailure(err);
      else reject(err);
    };
    const reader = new PacketReader((type, flags, data, at, length) => {
      if (!up && type === CONNACK && length === 2) {
        if (data[at + 1] !== 0) throw new Error(`CONNACK refused: ${data[at + 1]} (${REFUSALS[data[at + 1]!] ?? 'unknown code'})`);
        up = true;
        socket.setTimeout(0);
        resolve(conn);
      } else if (up && type === PUBACK && length === 2) {
        const id = data.readUInt16BE(at);
        if (!conn.acknowledge(id)) throw new Error(`PUBACK for message id ${id}, which is not in flight`);
        acks += 1;
      } else if (!(up && type === PINGRESP)) {
        throw new Error(`unexpected packet type ${type} (flags ${flags}, ${length} bytes)${up ? '' : ' before CONNACK'}`);
      }
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        link.receive(chunk);
      } catch (err) {
        return fail(err as Error);
      }
      if (acks > 0) conn.onAcks(acks);
      acks = 0;
    });
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => fail(new Error(`no CONNACK within ${CONNECT_TIMEOUT_MS} ms`)));
    socket.on('error', fail);
    // Keep-alive [MQTT-3.1.2-23]: a PINGREQ when nothing else went out for half the interval.
    let written = 0;
    const ping = keepaliveS > 0 ? setInterval(() => {
      if (up && conn.writes === written) conn.send(PINGREQ);
      written = conn.writes;
    }, (keepaliveS * 1000) / 2).unref() : undefined;
    socket.once('close', () => {
      clearInterval(ping);
      if (up) onClose();
      fail(new Error(up ? `connection closed with ${conn.inflight} publishes unacknowledged` : 'closed before CONNACK'));
    });
    conn.open(encodeConnect(account, keepaliveS));
  });
}
