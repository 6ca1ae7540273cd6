import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { leanConnector, PacketReader } from '../../bench/suite/loadgen/lean-publisher.js';
import { publishLean } from '../../bench/suite/loadgen/lean-traffic.js';
import {
  acceptKey, BINARY, checkUpgradeResponse, CLOSE, CONTINUATION, FrameEncoder, FrameReader, PING, PONG, TEXT, WsClient,
} from '../../bench/suite/loadgen/lean-ws.js';
import { clock, type PublishRole } from '../../bench/suite/loadgen/protocol.js';

/** Key blocks of 0, 1, 2, … so every mask is known and differs from the last. */
function countingEncoder(): FrameEncoder {
  let next = 0;
  return new FrameEncoder((block) => {
    for (let i = 0; i < block.length; i++) block[i] = next++ & 0xff;
  });
}

/** A client frame as the server reads it (RFC 6455 §5.2), read independently of FrameReader. */
function unmask(frame: Buffer): { fin: boolean; opcode: number; key: number[]; payload: Buffer } {
  expect(frame[1]! & 0x80, 'mask bit').toBe(0x80);
  let length = frame[1]! & 0x7f;
  let at = 2;
  if (length === 126) [length, at] = [frame.readUInt16BE(2), 4];
  if (length === 127) [length, at] = [Number(frame.readBigUInt64BE(2)), 10];
  const key = [...frame.subarray(at, at + 4)];
  const payload = Buffer.from(frame.subarray(at + 4).map((b, i) => b ^ key[i % 4]!));
  expect(payload.length).toBe(length);
  return { fin: (frame[0]! & 0x80) !== 0, opcode: frame[0]! & 0x0f, key, payload };
}

/** An unmasked server frame with the shortest length encoding. */
function serverFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const n = payload.length;
  const long = Buffer.alloc(8);
  long.writeBigUInt64BE(BigInt(n));
  const length = n < 126 ? [n] : n < 65_536 ? [126, n >> 8, n & 0xff] : [127, ...long];
  return Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | opcode, ...length]), payload]);
}

/** Everything a FrameReader passes on: data bytes joined, control frames in order. */
function collect(): { reader: FrameReader; data: () => Buffer; controls: [number, string][] } {
  const pieces: Buffer[] = [];
  const controls: [number, string][] = [];
  const reader = new FrameReader((p) => pieces.push(Buffer.from(p)), (op, p) => controls.push([op, p.toString()]));
  return { reader, data: () => Buffer.concat(pieces), controls };
}

const bytes = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7) & 0xff));

describe('WebSocket frame encoder', () => {
  it('masks a binary frame with a fresh key per frame, and unmasking gives the payload back', () => {
    const encoder = countingEncoder();
    const first = encoder.encode(BINARY, Buffer.from('hello'));
    expect([...first.subarray(0, 6)]).toEqual([0x82, 0x85, 0, 1, 2, 3]);
    expect(unmask(first)).toEqual({ fin: true, opcode: BINARY, key: [0, 1, 2, 3], payload: Buffer.from('hello') });
    expect(unmask(encoder.encode(PONG, Buffer.from('x'))).key).toEqual([4, 5, 6, 7]);
    expect([...encoder.encode(BINARY, Buffer.alloc(0))]).toEqual([0x82, 0x80, 8, 9, 10, 11]);
  });

  it('uses 16-bit lengths from 126 bytes and 64-bit lengths from 65,536', () => {
    const encoder = countingEncoder();
    for (const [n, head] of [[125, [0xfd]], [126, [0xfe, 0, 126]], [65_535, [0xfe, 0xff, 0xff]], [65_536, [0xff, 0, 0, 0, 0, 0, 1, 0, 0]]] as const) {
      const frame = encoder.encode(BINARY, bytes(n));
      expect([...frame.subarray(1, 1 + head.length)], `${n} bytes`).toEqual(head);
      expect(unmask(frame).payload.equals(bytes(n)), `${n} bytes`).toBe(true);
    }
  });

  it('refills its key block only when all of it is spent', () => {
    let fills = 0;
    const encoder = new FrameEncoder((block) => {
      fills += 1;
      block.fill(fills);
    });
    for (let i = 0; i < 1024; i++) encoder.encode(BINARY, Buffer.from('a'));
    expect(fills).toBe(1);
    expect(unmask(encoder.encode(BINARY, Buffer.from('a'))).key).toEqual([2, 2, 2, 2]);
  });
});

describe('WebSocket frame reader', () => {
  const stream = Buffer.concat([
    serverFrame(BINARY, Buffer.from([0x20, 2, 0, 0])),
    serverFrame(PING, Buffer.from('are you there')),
    serverFrame(BINARY, Buffer.from([0x40, 2]), false),
    serverFrame(CONTINUATION, Buffer.from([0, 1])),
    serverFrame(BINARY, Buffer.alloc(0)),
    serverFrame(PONG, Buffer.alloc(0)),
    serverFrame(BINARY, Buffer.from([0x40, 2, 0, 2])),
  ]);
  const data = [0x20, 2, 0, 0, 0x40, 2, 0, 1, 0x40, 2, 0, 2];
  const controls = [[PING, 'are you there'], [PONG, '']];

  it('reads several frames in one read, and the same wherever the reads split them', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const c = collect();
      c.reader.push(stream.subarray(0, cut));
      c.reader.push(stream.subarray(cut));
      expect([...c.data()], `cut at ${cut}`).toEqual(data);
      expect(c.controls, `cut at ${cut}`).toEqual(controls);
    }
    const c = collect();
    for (const byte of stream) c.reader.push(Buffer.from([byte]));
    expect([...c.data()]).toEqual(data);
    expect(c.controls).toEqual(controls);
  });

  it('reads 16- and 64-bit lengths, a header split inside its length included', () => {
    for (const n of [126, 65_535, 65_536, 200_000]) {
      const frame = serverFrame(BINARY, bytes(n));
      const c = collect();
      c.reader.push(frame.subarray(0, 3));
      c.reader.push(frame.subarray(3, 1000));
      c.reader.push(frame.subarray(1000));
      expect(c.data().equals(bytes(n)), `${n} bytes`).toBe(true);
    }
  });

  it('rejects a masked server frame, reserved bits, text, unknown opcodes and long control frames', () => {
    const reject = (frame: Buffer, message: RegExp) => expect(() => collect().reader.push(frame)).toThrow(message);
    reject(Buffer.from([0x82, 0x81, 1, 2, 3, 4, 5]), /masked WebSocket frame from the server/);
    reject(Buffer.from([0xc2, 0]), /reserved bits/);
    reject(serverFrame(TEXT, Buffer.from('{}')), /text frame.*MQTT-6\.0\.0-1/);
    reject(serverFrame(0x3, Buffer.alloc(0)), /unknown opcode 3/);
    reject(serverFrame(PING, Buffer.alloc(126)), /control frame of 126 bytes/);
  });
});

describe('WebSocket client handshake and control frames', () => {
  /** The RFC 6455 §1.3 example. */
  it('computes Sec-WebSocket-Accept as RFC 6455 does', () => {
    expect(acceptKey('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  const response = (key: string, extra = '') =>
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nsec-websocket-accept: ${acceptKey(key)}\r\n${extra}\r\n`;

  it('checks the status, Sec-WebSocket-Accept and the mqtt subprotocol', () => {
    expect(() => checkUpgradeResponse(response('k', 'Sec-WebSocket-Protocol: mqtt\r\n').trimEnd(), 'k')).not.toThrow();
    expect(() => checkUpgradeResponse('HTTP/1.1 404 Not Found\r\nContent-Length: 0', 'k')).toThrow('WebSocket upgrade refused: HTTP/1.1 404 Not Found');
    expect(() => checkUpgradeResponse(response('other', 'Sec-WebSocket-Protocol: mqtt\r\n').trimEnd(), 'k')).toThrow(/Sec-WebSocket-Accept/);
    expect(() => checkUpgradeResponse(response('k').trimEnd(), 'k')).toThrow(/subprotocol \(none\), not mqtt/);
  });

  /** A client whose writes and MQTT bytes are kept, after open(CONNECT). */
  function opened() {
    const writes: Buffer[] = [];
    const mqtt: number[] = [];
    const client = new WsClient((b) => writes.push(b), countingEncoder(), { host: 'h:1', path: '/mqtt?x=1' }, (b) => mqtt.push(...b));
    client.open(Buffer.from([0x10, 0]));
    const key = /Sec-WebSocket-Key: (\S+)\r\n/.exec(writes[0]!.toString())![1]!;
    return { client, writes, mqtt, key };
  }

  it('sends the upgrade request, holds CONNECT until the 101, and reads frames that follow it in the same read', () => {
    const { client, writes, mqtt, key } = opened();
    const request = writes[0]!.toString();
    expect(request.startsWith('GET /mqtt?x=1 HTTP/1.1\r\nHost: h:1\r\n')).toBe(true);
    expect(request).toMatch(/\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n/);
    expect(request).toMatch(/\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n$/);
    expect(Buffer.from(key, 'base64')).toHaveLength(16);
    expect(writes).toHaveLength(1);

    const reply = Buffer.concat([Buffer.from(response(key, 'Sec-WebSocket-Protocol: mqtt\r\n')), serverFrame(BINARY, Buffer.from([0x20, 2, 0, 0]))]);
    client.receive(reply.subarray(0, 20));
    client.receive(reply.subarray(20, reply.length - 3));
    expect(writes).toHaveLength(2);
    expect(unmask(writes[1]!).payload).toEqual(Buffer.from([0x10, 0]));
    client.receive(reply.subarray(reply.length - 3));
    expect(mqtt).toEqual([0x20, 2, 0, 0]);
  });

  it('answers a ping with a masked pong of the same payload, and fails on a close with its code', () => {
    const { client, writes, key } = opened();
    client.receive(Buffer.from(response(key, 'Sec-WebSocket-Protocol: mqtt\r\n')));
    client.receive(serverFrame(PING, Buffer.from('beat')));
    expect(unmask(writes.at(-1)!)).toMatchObject({ fin: true, opcode: PONG, payload: Buffer.from('beat') });
    expect(() => client.receive(serverFrame(CLOSE, Buffer.concat([Buffer.from([0x03, 0xf0]), Buffer.from('going away')])))).toThrow(
      'WebSocket closed by the server: 1008 (going away)',
    );
    expect(() => opened().client.receive(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'))).toThrow('WebSocket upgrade refused: HTTP/1.1 400 Bad Request');
  });
});

describe('lean publisher over WebSocket against a scripted ws broker', () => {
  let server: WebSocketServer | null = null;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  /** A ws server at /mqtt; `onClient` sees every WebSocket it accepts. */
  async function listen(onClient: (ws: WebSocket) => void): Promise<string> {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/mqtt' });
    server.on('connection', onClient);
    await new Promise<void>((resolve) => server!.once('listening', resolve));
    return `ws://127.0.0.1:${(server.address() as net.AddressInfo).port}/mqtt`;
  }

  /** Scripts `ws` as a broker: CONNACK for CONNECT, PUBACK for each PUBLISH, one message each. */
  function mqttBroker(ws: WebSocket): void {
    const reader = new PacketReader((type, _flags, data, at) => {
      if (type === 1) ws.send(Buffer.from([0x20, 2, 0, 0]));
      if (type === 3) {
        const id = at + 2 + data.readUInt16BE(at);
        ws.send(Buffer.from([0x40, 2, data[id]!, data[id + 1]!]));
      }
    });
    ws.on('message', (message) => reader.push(message as Buffer));
  }

  it('gets CONNACK and a PUBACK for every publish, answering the server\'s ping', async () => {
    const pongs: string[] = [];
    const subprotocols: string[] = [];
    const url = await listen((ws) => {
      mqttBroker(ws);
      subprotocols.push(ws.protocol);
      ws.on('pong', (payload) => pongs.push(payload.toString()));
      ws.ping('hb');
    });
    const conn = await leanConnector(url, 60)({ clientId: 'bench-000007' }, () => {});
    const role: PublishRole = {
      kind: 'publish', url, accounts: [], firstIndex: 7, qos: 1, mode: 'flood', rate: 0, window: 5, recordSends: true, lean: true,
    };
    const startAt = clock() + 20;
    const report = await publishLean([{ conn, index: 7 }], role, { startAt, measureFrom: startAt, endAt: startAt + 200 });
    conn.socket.destroy();
    expect(subprotocols).toEqual(['mqtt']);
    expect(pongs).toEqual(['hb']);
    expect(report.sent).toBeGreaterThan(role.window);
    expect(report.acked).toBe(report.sent);
    expect(report.sends[0]).toBe(7);
  });

  it('exchanges 7-, 16- and 64-bit length frames with ws both ways', async () => {
    const received: Buffer[] = [];
    const url = await listen((ws) => ws.on('message', (m) => {
      received.push(m as Buffer);
      if (received.length !== 2) ws.send(m);
    }));
    const connect = Buffer.from([0x10, 13, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 2, 0, 0, 0, 1, 0x77]);
    const socket = net.connect(Number(new URL(url).port), '127.0.0.1');
    const echoed: Buffer[] = [];
    await new Promise<void>((resolve) => {
      const client = new WsClient((b) => socket.write(b), new FrameEncoder(), { host: new URL(url).host, path: '/mqtt' }, (b) => {
        echoed.push(Buffer.from(b));
        const length = Buffer.concat(echoed).length;
        // Sends wait for the handshake, as the connection's wait for CONNACK ensures.
        if (length === connect.length) {
          client.send(bytes(300));
          client.send(bytes(70_000));
        }
        if (length === connect.length + 70_000) resolve();
      });
      socket.on('data', (chunk: Buffer) => client.receive(chunk));
      client.open(connect);
    });
    socket.destroy();
    expect(received.map((m) => m.length)).toEqual([15, 300, 70_000]);
    expect(received[1]!.equals(bytes(300))).toBe(true);
    expect(Buffer.concat(echoed).equals(Buffer.concat([connect, bytes(70_000)]))).toBe(true);
  });

  it('fails clearly on a refused upgrade and on a close frame', async () => {
    const url = await listen((ws) => {
      mqttBroker(ws);
      setTimeout(() => ws.close(1008, 'policy'), 20);
    });
    await expect(leanConnector(url.replace('/mqtt', '/other'), 60)({ clientId: 'bench-000001' }, () => {})).rejects.toThrow(
      /WebSocket upgrade refused: HTTP\/1\.1 400/,
    );
    const conn = await leanConnector(url, 60)({ clientId: 'bench-000001' }, () => {});
    const failure = await new Promise<Error>((resolve) => (conn.onFailure = resolve));
    expect(failure.message).toBe('WebSocket closed by the server: 1008 (policy)');
  });
});
