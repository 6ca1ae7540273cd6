// The measured window of a lean publishing process: the devices of
// lean-publisher.ts publish at QoS 1, flooding or paced, and are counted as
// traffic.ts counts MQTT.js publishers.
import type { LeanConnection } from './lean-publisher.js';
import { clock, telemetryPayload, type PublishReport, type PublishRole, type Window } from './protocol.js';
import { pace, settle, sleepUntil, Tally } from './traffic.js';

export interface LeanDevice {
  conn: LeanConnection;
  /** Index among all devices of the scenario. */
  index: number;
}

/**
 * traffic.ts's publish() at QoS 1, counted by the same Tally. Flooding,
 * each device keeps role.window publishes in flight, topped up once per read
 * rather than once per PUBACK; paced, each publish is written when it comes
 * due, as traffic.ts does.
 */
export async function publishLean(devices: readonly LeanDevice[], role: PublishRole, window: Window): Promise<PublishReport> {
  if (role.qos !== 1) throw new Error('the lean publisher publishes at QoS 1 only');
  const tally = new Tally(window, role.recordSends);
  let stopped = false;
  let failure: Error | null = null;

  /** `n` publishes from one device in one write, stamped `t`. */
  const send = ({ conn, index }: LeanDevice, n: number, t: number) => {
    const payloads = new Array<string>(n);
    for (let k = 0; k < n; k++) payloads[k] = telemetryPayload(t, ++conn.seq);
    tally.sent(index, conn.seq, n, t, 1);
    conn.publish(payloads);
  };
  const topUp = (device: LeanDevice) => {
    const n = role.window - device.conn.inflight;
    const t = clock();
    // Past endAt nothing more is sent: a top-up then would count as sent but not in the window.
    if (!stopped && n > 0 && t < window.endAt) send(device, n, t);
  };
  for (const device of devices) {
    const { conn } = device;
    conn.onAcks = (count) => {
      tally.acked(count);
      if (role.mode === 'flood') topUp(device);
    };
    conn.onFailure = (err) => {
      failure ??= new Error(`${conn.clientId}: ${err.message}`);
      stopped = true;
    };
  }

  await sleepUntil(window.startAt);
  if (role.mode === 'paced') pace(devices, role.rate, window.startAt, () => stopped, (device) => send(device, 1, clock()));
  else devices.forEach(topUp);
  await sleepUntil(window.endAt);
  stopped = true;
  await settle(() => tally.outstanding > 0 && failure === null);
  if (failure) throw failure;
  return tally.report();
}
