// Hostile MQTT traffic for the fuzz test: random bytes, valid packets with
// flipped bytes, lying lengths, huge remaining-length headers, truncations
// and CONNECT floods. Seeded, so a failing run can be replayed.
import mqttPacket from 'mqtt-packet';

export { mulberry32 as seeded, type Rng } from '../../devices/rng.js';
import type { Rng } from '../../devices/rng.js';

const int = (rng: Rng, n: number) => Math.floor(rng() * n);

function randomBytes(rng: Rng, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = int(rng, 256);
  return b;
}

function topic(rng: Rng): string {
  const pool = ['devices/fz/telemetry', 'devices/+/telemetry', '#', '$SYS/x', '$events/presence/connected/x', 'a/b/c', '', '/', '+', 'x'.repeat(300), 'é/ü', 'a\u0000b'];
  return pool[int(rng, pool.length)]!;
}

/** An MQTT 3.1.1 CONNECT with a clean session. */
export function connectPacket(clientId: string, keepalive = 30): Buffer {
  return mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive });
}

/** A well-formed packet of a random type (valid or not for the session state). */
function validPacket(rng: Rng): Buffer {
  const messageId = 1 + int(rng, 65_535);
  const qos = int(rng, 3) as 0 | 1 | 2;
  const candidates: Array<() => Buffer> = [
    () => mqttPacket.generate({ cmd: 'publish', topic: 'devices/fz/telemetry', payload: randomBytes(rng, int(rng, 64)), qos, messageId, retain: rng() < 0.1, dup: false }),
    () => mqttPacket.generate({ cmd: 'publish', topic: 'devices/fz/telemetry', payload: Buffer.from(JSON.stringify({ metrics: { t: rng() } })), qos: 0, retain: false, dup: false }),
    () => mqttPacket.generate({ cmd: 'subscribe', messageId, subscriptions: [{ topic: topic(rng) || 'a', qos }] }),
    () => mqttPacket.generate({ cmd: 'unsubscribe', messageId, unsubscriptions: [topic(rng) || 'a'] }),
    () => mqttPacket.generate({ cmd: 'pingreq' }),
    () => mqttPacket.generate({ cmd: 'puback', messageId }),
    () => mqttPacket.generate({ cmd: 'pubrec', messageId }),
    () => mqttPacket.generate({ cmd: 'pubrel', messageId }),
    () => mqttPacket.generate({ cmd: 'pubcomp', messageId }),
    () => connectPacket(`fz-${int(rng, 1000)}`),
  ];
  return candidates[int(rng, candidates.length)]!();
}

export type FuzzKind = 'random' | 'flipped' | 'wrong_length' | 'huge_length' | 'truncated' | 'valid' | 'connect_flood';

/** One hostile packet (or byte run that claims to be one) and what kind it is. */
export function fuzzPacket(rng: Rng): { kind: FuzzKind; bytes: Buffer } {
  const roll = int(rng, 7);
  switch (roll) {
    case 0:
      return { kind: 'random', bytes: randomBytes(rng, 1 + int(rng, 48)) };
    case 1: {
      const bytes = Buffer.from(validPacket(rng));
      for (let i = 0; i < 1 + int(rng, 3); i++) {
        const at = int(rng, bytes.length);
        bytes[at] = bytes[at]! ^ (1 << int(rng, 8));
      }
      return { kind: 'flipped', bytes };
    }
    case 2: {
      const bytes = Buffer.from(validPacket(rng));
      if (bytes.length > 1) bytes[1] = int(rng, 128);
      return { kind: 'wrong_length', bytes };
    }
    case 3:
      // Remaining length 268,435,455: the largest MQTT allows, announced and never sent.
      return { kind: 'huge_length', bytes: Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f, 0, 1, 0x61]) };
    case 4: {
      const bytes = validPacket(rng);
      return { kind: 'truncated', bytes: bytes.subarray(0, Math.max(1, int(rng, bytes.length))) };
    }
    case 5:
      return { kind: 'connect_flood', bytes: connectPacket(`flood-${int(rng, 1_000_000)}`) };
    default:
      return { kind: 'valid', bytes: validPacket(rng) };
  }
}
