// The traffic of a load process. Publishing: every connected device
// publishes its telemetry from window.startAt to window.endAt, either as fast
// as the broker takes it or at a fixed rate, and counts what it sent and what
// was acknowledged. Receiving: every client subscribes; what arrives is
// counted (in total and inside the measured window) and, for latency, each
// message's receive time is kept by device and seq.
import { setTimeout as sleep } from 'node:timers/promises';
import type { MqttClient } from 'mqtt';
import {
  clock, payloadSeq, telemetryPayload, topicDeviceIndex,
  type PublishReport, type PublishRole, type SubscribeReport, type SubscribeRole, type Window,
} from './protocol.js';

/**
 * QoS 0 publishes per client per event-loop turn at most: enough to fill the
 * socket's buffer, small enough that 50 clients in one process take turns.
 */
const FLOOD_BATCH = 50;
/** After endAt: how long in-flight QoS 1 publishes may take to be acknowledged, or QoS 0 buffers to flush. */
const SETTLE_MS = 10_000;

/** After endAt: waits while `unsettled()` holds, for SETTLE_MS at most. */
export async function settle(unsettled: () => boolean): Promise<void> {
  const settleBy = clock() + SETTLE_MS;
  while (unsettled() && clock() < settleBy) await sleep(20);
}

/**
 * Waits until clock() reaches `t`. A timer counts whole milliseconds on a
 * clock of its own and can fire up to one before: publishes sent then would
 * fall before the window they belong to.
 */
export async function sleepUntil(t: number): Promise<void> {
  for (let left = t - clock(); left > 0; left = t - clock()) await sleep(Math.max(1, left));
}

export interface Device {
  client: MqttClient;
  /** Index among all devices of the scenario. */
  index: number;
  topic: string;
  seq: number;
}

/**
 * What a publishing process counts, the same for MQTT.js (here) and the lean
 * publisher (lean-traffic.ts): a publish is sent, and in the window, when
 * written; acknowledged, and in the window, when its PUBACK arrives, so
 * acked/s is what the broker confirmed per second.
 */
export class Tally {
  private readonly counts = { sent: 0, acked: 0, sentInWindow: 0, ackedInWindow: 0 };
  private readonly sends: number[] = [];
  /** QoS 1 publishes written and not yet acknowledged (or failed). */
  outstanding = 0;

  constructor(private readonly window: Window, private readonly recordSends: boolean) {}

  private measured(t: number): boolean {
    return t >= this.window.measureFrom && t < this.window.endAt;
  }

  /** `count` publishes of device `index` written at `t`, their seqs ending at `lastSeq`; QoS 1 ones wait for acked(). */
  sent(index: number, lastSeq: number, count: number, t: number, qos: number): void {
    this.counts.sent += count;
    if (qos === 1) this.outstanding += count;
    if (!this.measured(t)) return;
    this.counts.sentInWindow += count;
    if (this.recordSends) for (let seq = lastSeq - count + 1; seq <= lastSeq; seq++) this.sends.push(index, seq, t);
  }

  acked(count: number): void {
    this.outstanding -= count;
    this.counts.acked += count;
    if (this.measured(clock())) this.counts.ackedInWindow += count;
  }

  /** A QoS 1 publish that will not be acknowledged (its client failed). */
  failed(): void {
    this.outstanding -= 1;
  }

  report(): PublishReport {
    return { ...this.counts, sends: Float64Array.from(this.sends) };
  }
}

export async function publish(devices: Device[], role: PublishRole, window: Window): Promise<PublishReport> {
  const tally = new Tally(window, role.recordSends);
  let stopped = false;

  const send = (device: Device, onAck?: () => void) => {
    const t = clock();
    const seq = ++device.seq;
    tally.sent(device.index, seq, 1, t, role.qos);
    const payload = telemetryPayload(t, seq);
    if (role.qos === 0) {
      device.client.publish(device.topic, payload, { qos: 0 });
      return;
    }
    device.client.publish(device.topic, payload, { qos: 1 }, (err) => {
      if (err) tally.failed();
      else tally.acked(1);
      onAck?.();
    });
  };

  const pump = (device: Device) => {
    if (stopped) return;
    const stream = device.client.stream;
    for (let k = 0; k < FLOOD_BATCH && !stream.writableNeedDrain; k++) send(device);
    // Waiting for 'drain' is the backpressure: the publisher goes as fast as the broker reads.
    if (stream.writableNeedDrain) stream.once('drain', () => pump(device));
    else setImmediate(() => pump(device));
  };
  const lane = (device: Device) => {
    if (!stopped) send(device, () => lane(device));
  };

  await sleepUntil(window.startAt);
  if (devices.length > 0) {
    if (role.mode === 'paced') pace(devices, role.rate, window.startAt, () => stopped, send);
    else if (role.qos === 0) devices.forEach(pump);
    else for (const device of devices) for (let w = 0; w < role.window; w++) lane(device);
  }
  await sleepUntil(window.endAt);
  stopped = true;
  await settle(() =>
    role.qos === 1 ? tally.outstanding > 0 : devices.some((d) => d.client.connected && d.client.stream.writableLength > 0));
  return tally.report();
}

/**
 * Paced publishing: publish number p belongs to device p mod n, due at
 * startAt + p * period / n, so the devices' phases spread evenly. Each timer
 * sends every publish that has come due, so a late timer catches up.
 */
export function pace<D>(devices: readonly D[], rate: number, startAt: number, stopped: () => boolean, send: (device: D) => void): void {
  if (devices.length === 0) return;
  let slot = 0;
  const stepMs = 1000 / rate / devices.length;
  const tick = () => {
    if (stopped()) return;
    const now = clock();
    for (; startAt + slot * stepMs <= now; slot++) send(devices[slot % devices.length]!);
    setTimeout(tick, startAt + slot * stepMs - clock());
  };
  tick();
}

export interface Subscribers {
  /** Sets the window the in-window count refers to. */
  measure(window: Window): void;
  /** full: with the receive times. */
  report(full: boolean): SubscribeReport;
}

export async function subscribeAll(clients: MqttClient[], role: SubscribeRole): Promise<Subscribers> {
  let window: Window | null = null;
  let received = 0;
  let receivedInWindow = 0;
  const receives: number[] = [];
  const onMessage = (topic: string, payload: Buffer) => {
    const t = clock();
    received += 1;
    if (window && t >= window.measureFrom && t < window.endAt) receivedInWindow += 1;
    if (role.recordReceives) receives.push(topicDeviceIndex(topic), payloadSeq(payload.toString()), t);
  };
  await Promise.all(clients.map(async (client) => {
    client.on('message', onMessage);
    const granted = await client.subscribeAsync(role.filter, { qos: role.qos });
    // SUBACK 0x80: the broker's policy refused the filter; a benchmark must not measure silence.
    if (granted.some((g) => g.qos === 128)) throw new Error(`subscription to ${role.filter} refused for ${client.options.clientId}`);
  }));
  return {
    measure: (w) => (window = w),
    report: (full) => ({ received, receivedInWindow, receives: Float64Array.from(full ? receives : []) }),
  };
}
