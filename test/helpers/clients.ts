// Real MQTT.js clients and HTTP helpers for integration tests.
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { telemetryTopic } from '../../broker/contract/topics.js';

export async function connectClient(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5_000, ...options });
}

export interface Message {
  topic: string;
  payload: Buffer;
}

/** Collects messages on a client from now on. */
export function collect(client: MqttClient): Message[] {
  const messages: Message[] = [];
  client.on('message', (topic, payload) => messages.push({ topic, payload }));
  return messages;
}

/** `promise`, or an error naming `what` after `ms`: e.g. an unacknowledged publish fails the test instead of hanging it. */
export function within<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms: ${what()}`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Polls `check` until it returns a truthy value or the deadline passes. */
export async function waitFor<T>(check: () => T | Promise<T>, { timeoutMs = 5_000, intervalMs = 20, what = 'condition' } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export function reading(seq: number, metrics: Record<string, number> = { temperature: 20 + seq / 100 }, ts = Date.now()) {
  return JSON.stringify({ ts, seq, metrics });
}

export async function publishReading(client: MqttClient, deviceId: string, seq: number, qos: 0 | 1 = 1): Promise<void> {
  await client.publishAsync(telemetryTopic(deviceId), reading(seq), { qos });
}

/**
 * Publishes 3,000 QoS 1 messages of 4 KiB, 20 at a time, and returns the
 * count. 12 MiB: three times what the kernel buffers for a socket that is not
 * read on loopback (about 4 MiB), so a subscriber that stops reading fills up.
 */
export async function publishLoad(client: MqttClient, topic: string): Promise<number> {
  const payload = Buffer.alloc(4096, 'x');
  const total = 3_000;
  for (let i = 0; i < total; i += 20) {
    await Promise.all(Array.from({ length: 20 }, () => client.publishAsync(topic, payload, { qos: 1 })));
  }
  return total;
}

export async function getJson<T = any>(url: string): Promise<{ status: number; body: T }> {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as T };
}

/** Reads one counter sample from Prometheus text, 0 when absent. */
export async function metricValue(httpUrl: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(labels ? `${name}{${labels}}` : `${name} `));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

/** Sum of every sample of a metric, whatever its labels. */
export async function metricTotal(httpUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}
