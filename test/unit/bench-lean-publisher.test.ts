import net from 'node:net';
// MQTT.js's own encoder (installed with mqtt), as an independent reading of the spec.
import mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeConnect, encodePublishes, leanConnector, nextMessageId, PacketReader } from '../../bench/suite/loadgen/lean-publisher.js';
import { publishLean } from '../../bench/suite/loadgen/lean-traffic.js';
import { clock, telemetryPayload, type PublishRole } from '../../bench/suite/loadgen/protocol.js';

const bytes = (text: string) => [...Buffer.from(text)];

/** Every packet the reader emits, as [type, flags, body bytes]. */
function collect(): { reader: PacketReader; packets: [number, number, number[]][] } {
  const packets: [number, number, number[]][] = [];
  const reader = new PacketReader((type, flags, data, at, length) => packets.push([type, flags, [...data.subarray(at, at + length)]]));
  return { reader, packets };
}

describe('lean publisher encoding', () => {
  it('encodes CONNECT with client id, login, clean session and keepalive as MQTT.js does', () => {
    const account = { clientId: 'bench-000001', username: 'bench-000001', password: 'secret' };
    const ours = encodeConnect(account, 60);
    expect([...ours.subarray(0, 12)]).toEqual([0x10, ours.length - 2, 0, 4, ...bytes('MQTT'), 4, 0xc2, 0, 60]);
    expect([...ours.subarray(12)]).toEqual([0, 12, ...bytes('bench-000001'), 0, 12, ...bytes('bench-000001'), 0, 6, ...bytes('secret')]);
    const theirs = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, ...account, password: Buffer.from(account.password) });
    expect(ours.equals(theirs)).toBe(true);
  });

  it('encodes an anonymous CONNECT, and refuses a password without a user name', () => {
    expect([...encodeConnect({ clientId: 'w' }, 0)]).toEqual([0x10, 13, 0, 4, ...bytes('MQTT'), 4, 0x02, 0, 0, 0, 1, ...bytes('w')]);
    expect(() => encodeConnect({ clientId: 'w', password: 'p' }, 60)).toThrow(/MQTT-3.1.2-22/);
  });

  it('encodes QoS 1 PUBLISHes back to back in one buffer', () => {
    const out = encodePublishes(Buffer.from('a/b'), [1, 0x0102], ['hi', '']);
    expect([...out]).toEqual([
      0x32, 9, 0, 3, ...bytes('a/b'), 0, 1, ...bytes('hi'),
      0x32, 7, 0, 3, ...bytes('a/b'), 1, 2,
    ]);
  });

  it('encodes a Remaining Length of two bytes, and a telemetry PUBLISH as MQTT.js does', () => {
    const long = encodePublishes(Buffer.from('t'), [7], ['x'.repeat(200)]);
    // 2 + 1 + 2 + 200 = 205 = 0x4d + 1 * 128
    expect([...long.subarray(0, 3)]).toEqual([0x32, 0xcd, 0x01]);
    expect(long.length).toBe(3 + 205);
    const topic = 'devices/bench-000042/telemetry';
    const payload = telemetryPayload(1_700_000_000_123, 5);
    const theirs = mqttPacket.generate({ cmd: 'publish', topic, payload, qos: 1, messageId: 65_535, retain: false, dup: false });
    expect(encodePublishes(Buffer.from(topic), [65_535], [payload]).equals(theirs)).toBe(true);
  });

  it('cycles message ids 1..65535, skipping those in flight', () => {
    const inUse = new Uint8Array(65_536);
    expect(nextMessageId(inUse, 0)).toBe(1);
    inUse[2] = 1;
    inUse[3] = 1;
    expect(nextMessageId(inUse, 1)).toBe(4);
    expect(nextMessageId(inUse, 65_535)).toBe(1);
    inUse[1] = 1;
    expect(nextMessageId(inUse, 65_534)).toBe(65_535);
    expect(nextMessageId(inUse, 65_535)).toBe(4);
    inUse.fill(1);
    expect(() => nextMessageId(inUse, 9)).toThrow(/in flight/);
  });
});

describe('lean publisher decoding', () => {
  const stream = Buffer.from([0x40, 2, 0, 1, 0x40, 2, 0xff, 0xff, 0xd0, 0, 0x40, 2, 1, 2]);
  const expected = [[4, 0, [0, 1]], [4, 0, [0xff, 0xff]], [13, 0, []], [4, 0, [1, 2]]];

  it('reads PUBACKs and a PINGRESP wherever the reads split them', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const { reader, packets } = collect();
      reader.push(stream.subarray(0, cut));
      reader.push(stream.subarray(cut));
      expect(packets, `cut at ${cut}`).toEqual(expected);
    }
    const { reader, packets } = collect();
    for (const byte of stream) reader.push(Buffer.from([byte]));
    expect(packets).toEqual(expected);
  });

  it('waits for a Remaining Length split between its bytes', () => {
    const packet = encodePublishes(Buffer.from('t'), [7], ['x'.repeat(200)]);
    const { reader, packets } = collect();
    reader.push(packet.subarray(0, 2));
    reader.push(packet.subarray(2, 100));
    expect(packets).toEqual([]);
    reader.push(packet.subarray(100));
    expect(packets).toHaveLength(1);
    expect(packets[0]!.slice(0, 2)).toEqual([3, 2]);
  });

  it('rejects a Remaining Length longer than four bytes', () => {
    const { reader } = collect();
    expect(() => reader.push(Buffer.from([0x40, 0xff, 0xff, 0xff, 0xff, 0x01]))).toThrow(/Remaining Length/);
  });
});

describe('lean publisher against a scripted broker', () => {
  let server: net.Server | null = null;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  /** A broker on a free port that answers CONNECT with `returnCode` and acknowledges every PUBLISH, one PUBACK per write. */
  async function broker(returnCode: number): Promise<string> {
    server = net.createServer((socket) => {
      const reader = new PacketReader((type, _flags, data, at) => {
        if (type === 1) socket.write(Buffer.from([0x20, 2, 0, returnCode]));
        if (type === 3) socket.write(Buffer.from([0x40, 2, data[at + 2 + data.readUInt16BE(at)]!, data[at + 3 + data.readUInt16BE(at)]!]));
      });
      socket.on('data', (chunk: Buffer) => reader.push(chunk));
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return `mqtt://127.0.0.1:${(server!.address() as net.AddressInfo).port}`;
  }

  it('fails clearly on a refusing CONNACK', async () => {
    const connect = leanConnector(await broker(5), 60);
    await expect(connect({ clientId: 'bench-000001', username: 'bench-000001', password: 'x' }, () => {})).rejects.toThrow(
      'CONNACK refused: 5 (not authorized)',
    );
  });

  it('keeps the window in flight and counts every publish acknowledged', async () => {
    const conn = await leanConnector(await broker(0), 60)({ clientId: 'bench-000003' }, () => {});
    const role: PublishRole = {
      kind: 'publish', url: '', accounts: [], firstIndex: 3, qos: 1, mode: 'flood', rate: 0, window: 5, recordSends: true, lean: true,
    };
    const startAt = clock() + 20;
    const report = await publishLean([{ conn, index: 3 }], role, { startAt, measureFrom: startAt, endAt: startAt + 200 });
    conn.socket.destroy();
    expect(report.sent).toBeGreaterThan(role.window);
    expect(report.acked).toBe(report.sent);
    expect(report.sentInWindow).toBe(report.sent);
    expect(report.sends.length).toBe(3 * report.sentInWindow);
    expect(report.sends[0]).toBe(3);
    expect(report.sends[1]).toBe(1);
  });
});
