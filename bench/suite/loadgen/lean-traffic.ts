// The measured window of a lean publishing process: the devices of
// lean-publisher.ts publish at QoS 1, flooding or paced, and are counted as
// traffic.ts counts MQTT.js publishers.
import { setTimeout as sleep } from 'node:timers/promises';
import type { LeanConnection } from './lean-publisher.js';
import { clock, telemetryPayload, type PublishReport, type PublishRole, type Window } from './protocol.js';
import { pace, SETTLE_MS, sleepUntil } from './traffic.js';

export interface LeanDevice {
  conn: LeanConnection;
  /** Index among all devices of the scenario. */
  index: number;
}

/**
 * traffic.ts's publish() at QoS 1, counted the same way: a publish is sent
 * (and in the window) when written, acknowledged (in the window) when its
 * PUBACK is read. Flooding, each device keeps role.window publishes in
 * flight, topped up once per read rather than once per PUBACK; paced, each
 * publish is written when it comes due, as traffic.ts does.
 */
export async function publishLean(devices: readonly LeanDevice[], role: PublishRole, window: Window): Promise<PublishReport> {
  if (role.qos !== 1) throw new Error('the lean publisher publishes at QoS 1 only');
  const report = { sent: 0, acked: 0, sentInWindow: 0, ackedInWindow: 0 };
  const sends: number[] = [];
  const measured = (t: number) => t >= window.measureFrom && t < window.endAt;
  let stopped = false;
  let outstanding = 0;
  let failure: Error | null = null;

  const topUp = ({ conn, index }: LeanDevice) => {
    const n = role.window - conn.inflight;
    const t = clock();
    // Past endAt nothing more is sent: a top-up then would count as sent but not in the window.
    if (stopped || n <= 0 || t >= window.endAt) return;
    const payloads = new Array<string>(n);
    for (let k = 0; k < n; k++) {
      payloads[k] = telemetryPayload(t, ++conn.seq);
      if (role.recordSends && measured(t)) sends.push(index, conn.seq, t);
    }
    report.sent += n;
    if (measured(t)) report.sentInWindow += n;
    outstanding += n;
    conn.publish(payloads);
  };
  const sendOne = ({ conn, index }: LeanDevice) => {
    const t = clock();
    const payload = telemetryPayload(t, ++conn.seq);
    report.sent += 1;
    if (measured(t)) {
      report.sentInWindow += 1;
      if (role.recordSends) sends.push(index, conn.seq, t);
    }
    outstanding += 1;
    conn.publish([payload]);
  };
  for (const device of devices) {
    const { conn } = device;
    conn.onAcks = (count) => {
      outstanding -= count;
      report.acked += count;
      if (measured(clock())) report.ackedInWindow += count;
      if (role.mode === 'flood') topUp(device);
    };
    conn.onFailure = (err) => {
      failure ??= new Error(`${conn.clientId}: ${err.message}`);
      stopped = true;
    };
  }

  await sleepUntil(window.startAt);
  if (role.mode === 'paced') pace(devices, role.rate, window.startAt, () => stopped, sendOne);
  else devices.forEach(topUp);
  await sleepUntil(window.endAt);
  stopped = true;
  const settleBy = clock() + SETTLE_MS;
  while (outstanding > 0 && failure === null && clock() < settleBy) await sleep(20);
  if (failure) throw failure;
  return { ...report, sends: Float64Array.from(sends) };
}
