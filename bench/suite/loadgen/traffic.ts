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
export const SETTLE_MS = 10_000;

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

export async function publish(devices: Device[], role: PublishRole, window: Window): Promise<PublishReport> {
  const report = { sent: 0, acked: 0, sentInWindow: 0, ackedInWindow: 0 };
  const sends: number[] = [];
  const measured = (t: number) => t >= window.measureFrom && t < window.endAt;
  let stopped = false;
  let outstanding = 0;

  /** Acks are counted in the window when they arrive in it, so acked/s is what the broker confirmed per second. */
  const acked = (err?: Error) => {
    outstanding -= 1;
    if (err) return;
    report.acked += 1;
    if (measured(clock())) report.ackedInWindow += 1;
  };
  const send = (device: Device, onAck?: () => void) => {
    const t = clock();
    const seq = ++device.seq;
    report.sent += 1;
    if (measured(t)) {
      report.sentInWindow += 1;
      if (role.recordSends) sends.push(device.index, seq, t);
    }
    const payload = telemetryPayload(t, seq);
    if (role.qos === 0) {
      device.client.publish(device.topic, payload, { qos: 0 });
      return;
    }
    outstanding += 1;
    device.client.publish(device.topic, payload, { qos: 1 }, (err) => {
      acked(err);
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
  const settleBy = clock() + SETTLE_MS;
  const unsettled = () =>
    role.qos === 1 ? outstanding > 0 : devices.some((d) => d.client.connected && d.client.stream.writableLength > 0);
  while (unsettled() && clock() < settleBy) await sleep(20);
  return { ...report, sends: Float64Array.from(sends) };
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
