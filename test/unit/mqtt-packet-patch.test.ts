// patches/mqtt-packet+9.0.2.patch reads bytes, 16-bit numbers and strings in
// place across the parser's list of received buffers. A stream may split a
// packet anywhere, so every split must parse to the same packets as one read.
import mqttPacket, { type Packet } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';

const packets: Packet[] = [
  {
    cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 30, clientId: 'sensor-ü-1',
    username: 'sensor-ü-1', password: Buffer.from('secret'),
    will: { topic: 'devices/sensor-ü-1/status', payload: Buffer.from('{"online":false}'), qos: 1, retain: false },
  },
  // A payload past 127 bytes takes a two-byte remaining length.
  { cmd: 'publish', topic: 'devices/sensör/telemetry', qos: 1, messageId: 0x1234, retain: false, dup: false, payload: Buffer.from(JSON.stringify({ metrics: { t: 21.5 }, pad: 'x'.repeat(200) })) },
  { cmd: 'publish', topic: 'a/b', qos: 0, retain: true, dup: false, payload: Buffer.from('{}') },
  { cmd: 'puback', messageId: 0xfffe },
  { cmd: 'subscribe', messageId: 7, subscriptions: [{ topic: 'devices/+/telemetry', qos: 1 }] },
  { cmd: 'pingreq' },
];

function parseAll(chunks: Buffer[]): Packet[] {
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const out: Packet[] = [];
  parser.on('packet', (p: Packet) => out.push(p));
  parser.on('error', (err: Error) => {
    throw err;
  });
  for (const chunk of chunks) parser.parse(chunk);
  return out;
}

/** The fields a packet carries, without the parser's bookkeeping (length). */
function fields(p: Packet): object {
  const { length: _length, ...rest } = p as Packet & { length?: number };
  return rest;
}

describe('mqtt-packet parser (as patched)', () => {
  const wire = Buffer.concat(packets.map((p) => mqttPacket.generate(p)));
  const whole = parseAll([wire]).map(fields);

  it('parses the packets of one read', () => {
    expect(whole.map((p) => (p as Packet).cmd)).toEqual(packets.map((p) => p.cmd));
    expect(whole[0]).toMatchObject({ clientId: 'sensor-ü-1', username: 'sensor-ü-1', will: { topic: 'devices/sensor-ü-1/status', qos: 1 } });
    expect(whole[1]).toMatchObject({ topic: 'devices/sensör/telemetry', messageId: 0x1234, qos: 1 });
    expect(whole[3]).toMatchObject({ messageId: 0xfffe });
  });

  it.each([1, 2, 3, 5, 7, 64])('parses the same packets from reads of %i bytes', (size) => {
    const chunks: Buffer[] = [];
    for (let i = 0; i < wire.length; i += size) chunks.push(wire.subarray(i, i + size));
    expect(parseAll(chunks).map(fields)).toEqual(whole);
  });

  it('parses the same packets with a split at every offset', () => {
    for (let at = 1; at < wire.length; at++) {
      expect(parseAll([wire.subarray(0, at), wire.subarray(at)]).map(fields)).toEqual(whole);
    }
  });
});
