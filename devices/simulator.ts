// One simulated device (STYLE.md §14): the profile makes readings, this loop
// owns MQTT I/O, the offline buffer and reconnects. Timers and randomness are
// injected, so a fleet shares one scheduler and a test can drive the clock.
import mqtt, { type MqttClient } from 'mqtt';
import { encodeTelemetry } from '../broker/contract/telemetry.js';
import { DEVICE_ROOT, rejectionTopic, telemetryTopic } from '../broker/contract/topics.js';
import { Backoff, DEFAULT_BACKOFF } from './backoff.js';
import { ReadingBuffer } from './buffer.js';
import type { DeviceOptions, Reading } from './device-options.js';
import { exponential } from './rng.js';
import type { TimerHandle } from './scheduler.js';
import { ShadowSync, understood, type Capability, type Settings } from './shadow-sync.js';

interface Connection {
  client: MqttClient;
  connected: boolean;
  connectedAt: number;
  /**
   * Sent and not yet PUBACKed, oldest first. A broker acknowledges QoS 1 publishes
   * in the order it received them [MQTT-4.6.0-2], so every acknowledgement is for the oldest.
   */
  inflight: Reading[];
  /** One acknowledgement callback per connection, rather than a closure per reading. */
  onAck: (err?: Error) => void;
  dropTimer: TimerHandle | null;
  shadow: ShadowSync | null;
}

export class DeviceSimulator {
  readonly id: string;
  readonly #o: DeviceOptions;
  readonly #topic: string;
  /** MQTT.js copies its options per publish; one object per device spares an allocation per reading. */
  readonly #publishOptions: { qos: 0 | 1 | 2 };
  readonly #maxInflight: number;
  readonly #buffer: ReadingBuffer<Reading>;
  readonly #backoff: Backoff;
  #state: unknown;
  #seq = 0;
  #produced = 0;
  #conn: Connection | null = null;
  #everConnected = false;
  #stopped = true;
  #skipBackoff = false;
  #nextAt = 0;
  #tickTimer: TimerHandle | null = null;
  /** The tick's handle, re-armed every reading (see Timer.set). */
  #tickEntry: TimerHandle | undefined;
  /** One closure for every tick of this device, rather than one per reading. */
  readonly #onTick = () => this.#tick();
  #retryTimer: TimerHandle | null = null;
  /** What the device's shadow can change: its reporting interval (periodic profiles), a relay and a setpoint. */
  readonly #settings: Required<Settings>;
  readonly #capabilities: Capability[];

  constructor(options: DeviceOptions) {
    this.#o = options;
    this.#settings = { intervalMs: Math.round(options.intervalMs), relay: false, setpoint: 21 };
    // An event profile's timing is the profile's own: its interval stays pending in the shadow, honestly.
    this.#capabilities = options.profile.kind === 'periodic' ? ['intervalMs', 'relay', 'setpoint'] : ['relay', 'setpoint'];
    this.id = options.id;
    this.#topic = telemetryTopic(options.id);
    this.#publishOptions = { qos: options.qos };
    this.#maxInflight = options.maxInflight ?? 64;
    this.#buffer = new ReadingBuffer(options.bufferSize);
    this.#backoff = new Backoff(options.rng, options.backoff ?? DEFAULT_BACKOFF);
  }

  get connected(): boolean {
    return this.#conn?.connected === true;
  }

  get buffered(): number {
    return this.#buffer.length;
  }

  /** Every reading it will make is made and acknowledged. */
  get settled(): boolean {
    const o = this.#o;
    return o.messages !== undefined && this.#produced >= o.messages && this.#buffer.length === 0 && (this.#conn?.inflight.length ?? 0) === 0;
  }

  start(): void {
    if (!this.#stopped) return;
    const { timer, profile } = this.#o;
    const { intervalMs } = this.#settings;
    this.#stopped = false;
    const now = timer.now();
    this.#state ??= profile.init(this.#o.profileRng, now, { intervalMs });
    // A random phase, so a fleet started together does not publish in lockstep.
    this.#schedule(now + this.#o.rng() * intervalMs);
    this.#connect();
  }

  /** Disconnects cleanly; buffered readings stay unsent. Resolves once the socket is closed. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const handle of [this.#tickTimer, this.#retryTimer]) if (handle) this.#o.timer.clear(handle);
    this.#tickTimer = this.#retryTimer = null;
    const conn = this.#conn;
    if (!conn) return;
    if (conn.dropTimer) this.#o.timer.clear(conn.dropTimer);
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(force);
        resolve();
      };
      // MQTT.js waits for in-flight acknowledgements before its DISCONNECT; a gateway
      // that stopped answering must not hold shutdown, so after 2 s the socket goes.
      const force = setTimeout(() => {
        conn.client.stream?.destroy();
        done();
      }, 2_000);
      const alive = conn.connected && conn.client.stream?.destroyed === false;
      conn.client.end(!alive, {}, done);
    });
  }

  /**
   * Fault injection: kills the socket without a DISCONNECT, as a lost network
   * would (the gateway then sends the last will). `immediate` reconnects at once,
   * ignoring backoff, as a badly written device would.
   */
  drop(immediate = false): void {
    if (!this.#conn) return;
    if (immediate) this.#skipBackoff = true;
    this.#conn.client.stream?.destroy();
  }

  #schedule(at: number): void {
    this.#nextAt = at;
    this.#tickTimer = this.#tickEntry = this.#o.timer.set(this.#onTick, at - this.#o.timer.now(), this.#tickEntry);
  }

  #tick(): void {
    this.#tickTimer = null;
    const o = this.#o;
    if (this.#stopped || (o.messages !== undefined && this.#produced >= o.messages)) return;
    const now = o.timer.now();
    let nextInMs: number | undefined;
    if (this.#conn?.connected && o.malformed && o.malformedRate && o.rng() < o.malformedRate) {
      // Only while online: a malformed payload in the offline buffer would say nothing about the gateway.
      const bad = o.malformed();
      o.counters.malformed++;
      this.#conn.client.publish(bad.topic, bad.payload, { qos: o.qos });
    } else {
      const step = o.profile.next(this.#state, now, o.profileRng);
      this.#state = step.state;
      nextInMs = step.nextInMs;
      this.#produced++;
      o.counters.produced++;
      const reading: Reading = { ts: now, seq: this.#seq++, metrics: step.reading };
      const conn = this.#conn;
      // The common case, online with nothing queued, skips the buffer.
      if (conn?.connected && this.#buffer.length === 0 && conn.inflight.length < this.#maxInflight) {
        this.#send(conn, reading);
      } else {
        const before = this.#buffer.dropped;
        this.#buffer.push(reading);
        o.counters.dropped += this.#buffer.dropped - before;
        this.#pump();
      }
    }
    if (o.messages !== undefined && this.#produced >= o.messages) return;
    const gap = nextInMs ?? this.#settings.intervalMs * (1 + o.jitter * (2 * o.rng() - 1));
    // From the previous due time, not from now, so timer lateness does not lower the rate.
    this.#schedule(this.#nextAt + gap);
  }

  #pump(): void {
    const conn = this.#conn;
    if (!conn?.connected) return;
    while (conn.inflight.length < this.#maxInflight) {
      const reading = this.#buffer.shift();
      if (!reading) return;
      this.#send(conn, reading);
    }
  }

  #send(conn: Connection, reading: Reading): void {
    conn.inflight.push(reading);
    this.#o.counters.published++;
    conn.client.publish(this.#topic, encodeTelemetry(reading), this.#publishOptions, conn.onAck);
  }

  #acknowledged(conn: Connection, err?: Error): void {
    // An error means the connection is going; #onClose puts the reading back.
    if (err || conn.inflight.shift() === undefined) return;
    this.#o.counters.acknowledged++;
    this.#pump();
  }

  #connect(): void {
    this.#retryTimer = null;
    if (this.#stopped) return;
    const o = this.#o;
    const client = mqtt.connect(o.url, {
      ...o.mqttOptions,
      clientId: o.id,
      ...(o.secret === undefined ? {} : { username: o.id, password: o.secret }),
      protocolVersion: 4,
      clean: true,
      keepalive: o.keepaliveS ?? 30,
      // MQTT.js re-arms the keepalive interval on every PUBACK: a new Timeout and closure per
      // reading that live a second, so each is promoted and collected by a full GC. Without
      // rescheduling a device sends a PINGREQ every keepalive period, one packet per 30 readings.
      reschedulePings: false,
      // MQTT.js's default: an overloaded gateway may be slow to CONNACK, and an abandoned attempt it later accepts is wasted work.
      connectTimeout: 30_000,
      // Reconnects are ours (backoff with jitter below); MQTT.js's fixed period would synchronise a fleet.
      reconnectPeriod: 0,
      resubscribe: false,
      queueQoSZero: false,
      will: { topic: `${DEVICE_ROOT}/${o.id}/status`, payload: Buffer.from('{"online":false}'), qos: 0, retain: false },
      // MQTT.js's default logger formats a debug call per packet; at ten thousand devices that is measurable CPU.
      log: () => undefined,
    });
    const conn: Connection = {
      client, connected: false, connectedAt: 0, inflight: [], onAck: (err) => this.#acknowledged(conn, err), dropTimer: null, shadow: null,
    };
    this.#conn = conn;
    o.counters.connecting++;
    client.on('connect', () => this.#onConnect(conn));
    client.on('message', (topic) => {
      if (topic === rejectionTopic(o.id)) o.counters.rejected++;
    });
    client.on('error', (err) => this.#countError(err));
    client.on('close', () => this.#onClose(conn));
  }

  #onConnect(conn: Connection): void {
    const o = this.#o;
    o.counters.connecting--;
    conn.connected = true;
    conn.connectedAt = o.timer.now();
    o.counters.connected++;
    o.counters.connects++;
    if (this.#everConnected) o.counters.reconnects++;
    this.#everConnected = true;
    // MQTT 3.1.1 cannot NACK a publish; the gateway explains refusals on this topic.
    conn.client.subscribe(rejectionTopic(o.id), { qos: 0 });
    conn.shadow = new ShadowSync(conn.client, {
      deviceId: o.id,
      current: () => ({ ...this.#settings }),
      apply: (delta) => this.#applySettings(delta),
      onError: (err) => this.#countError(err),
    });
    conn.shadow.start().catch((err: Error) => this.#countError(err));
    if (o.disconnectMeanMs) {
      conn.dropTimer = o.timer.set(() => this.drop(), exponential(o.rng, o.disconnectMeanMs));
    }
    this.#pump();
  }

  #onClose(conn: Connection): void {
    if (this.#conn !== conn) return;
    const o = this.#o;
    this.#conn = null;
    if (conn.dropTimer) o.timer.clear(conn.dropTimer);
    conn.shadow?.close();
    if (conn.connected) {
      conn.connected = false;
      o.counters.connected--;
      if (o.timer.now() - conn.connectedAt >= (o.stableMs ?? 10_000)) this.#backoff.reset();
    } else {
      o.counters.connecting--;
    }
    // Sent but unacknowledged: the gateway may not have them, so they go out again (QoS 1 is at least once).
    const before = this.#buffer.dropped;
    this.#buffer.unshiftAll(conn.inflight);
    o.counters.dropped += this.#buffer.dropped - before;
    conn.inflight = [];
    // Releases MQTT.js's stores and keepalive; the socket is already gone.
    conn.client.end(true);
    if (this.#stopped) return;
    const delay = this.#skipBackoff ? 0 : this.#backoff.next();
    this.#skipBackoff = false;
    this.#retryTimer = o.timer.set(() => this.#connect(), delay);
  }

  /** Applies what a shadow delta asks and this device understands; a shorter interval takes effect at once. */
  #applySettings(delta: Readonly<Record<string, unknown>>): Settings {
    const applied = understood(delta, this.#capabilities);
    Object.assign(this.#settings, applied);
    if (applied.intervalMs !== undefined && this.#tickTimer) {
      this.#o.timer.clear(this.#tickTimer);
      this.#schedule(Math.min(this.#nextAt, this.#o.timer.now() + applied.intervalMs));
    }
    return applied;
  }

  #countError(err: Error): void {
    this.#o.counters.errors++;
    this.#o.counters.lastError = `${this.#o.id}: ${err.message}`;
  }
}
