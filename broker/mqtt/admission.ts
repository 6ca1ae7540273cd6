// Admission control for publishes: at most `maxInFlight` messages are being
// routed at once; the rest wait in one FIFO queue. aedes reads a client's
// next packets only after the current ones are handled, so waiting here is
// TCP backpressure on exactly the publishers that cause the load, and it
// bounds what aedes and mqemitter queue in memory, which upstream does not.
// QoS 1/2 waits as long as it takes (nothing acknowledged is ever dropped);
// QoS 0 waits at most `shedAfterMs` and is then shed at the edge, counted per
// reason and per client, never silently.
import type { Client, PublishPacket } from 'aedes';

interface Waiting {
  packet: object;
  go: () => void;
  /** Present for QoS 0: called instead of `go` once the deadline has passed. */
  shed?: () => void;
  clientId: string;
  deadline: number;
}

export interface AdmissionOptions {
  maxInFlight: number;
  /** Counts each publish that has to wait, by QoS. */
  onWait?: (qos: number) => void;
  /** Longest a QoS 0 publish waits for a slot before it is shed. */
  shedAfterMs: number;
  /** True while memory is short: admit nothing new until it is not. */
  pressure?: () => boolean;
  now?: () => number;
  maxTrackedClients?: number;
}

const MAX_PATIENCE_MS = 1_000;

/** A FIFO dequeued by moving a head index (Array#shift is O(n) on a long queue), compacted now and then. */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  peek(): T | undefined {
    return this.items[this.head];
  }

  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

/**
 * Marks an admitted packet, so `routed` frees a slot only for those (the
 * gateway's own messages and wills pass `published` too). A property on the
 * packet rather than a WeakSet: with thousands of packets in flight, the
 * WeakSet's entries made every garbage collection slower (ephemerons).
 */
const ADMITTED = Symbol('admitted');
type Marked = { [ADMITTED]?: boolean };

export class Admission {
  private inFlight = 0;
  private readonly queue = new Fifo<Waiting>();
  /** Sheds of QoS 0 refused on arrival, not yet reported to aedes (see request). */
  private readonly parked = new Fifo<() => void>();
  private closed = false;
  /** Set while drain() runs: a publish routed synchronously inside it must not drain again (see drain). */
  private draining = false;
  /** QoS 0 shed per client id, for the dashboard's "who is dropping" table; bounded. */
  private readonly shedByClient = new Map<string, number>();
  /**
   * How long each flooding client's QoS 0 currently waits before it is shed:
   * doubled on every shed, up to a second, back to the base once one of its
   * messages is admitted. A longer wait holds its batch longer, and aedes reads
   * nothing more from it meanwhile, so a flooder costs less parsing per second.
   */
  private readonly patience = new WeakMap<Client, number>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly now: () => number;
  private readonly pressure: () => boolean;

  constructor(private readonly opts: AdmissionOptions) {
    this.now = opts.now ?? Date.now;
    this.pressure = opts.pressure ?? (() => false);
    // Expired QoS 0 must be shed even when nothing is being routed to drain the queue.
    this.sweeper = setInterval(() => this.drain(), Math.max(10, opts.shedAfterMs / 2));
    this.sweeper.unref();
  }

  private get waitingCount(): number {
    return this.queue.size;
  }

  /** Admits `packet` now (`go`), later, or sheds a QoS 0 one that waited too long (`shed`). */
  request(client: Client, packet: PublishPacket, go: () => void, shed: () => void): void {
    if (this.closed) return;
    if (this.inFlight < this.opts.maxInFlight && this.waitingCount === 0 && !this.pressure()) {
      this.patience.delete(client);
      return this.enter(packet, go);
    }
    this.opts.onWait?.(packet.qos);
    if (packet.qos !== 0) return void this.queue.push({ packet, go, clientId: client.id, deadline: Infinity });
    const wait = this.patience.get(client) ?? this.opts.shedAfterMs;
    const onShed = () => {
      this.patience.set(client, Math.min(MAX_PATIENCE_MS, wait * 2));
      shed();
    };
    // Every waiting message is a parsed packet in memory: past twice the routing
    // capacity, QoS 0 is shed on arrival instead of queued. aedes learns so only
    // once the queue has room (release): told at once, it would read and parse
    // the flooder's next chunk at once, only for it to be shed too. With 100
    // flooders that parsing made each event-loop turn last seconds, and routing,
    // which takes a few turns per message, fell to ~1,000 messages/s.
    if (this.waitingCount >= this.opts.maxInFlight * 2) {
      this.countShed(client.id);
      return void this.parked.push(onShed);
    }
    this.queue.push({ packet, go, shed: onShed, clientId: client.id, deadline: this.now() + wait });
  }

  /** The `published` hook: the packet has been routed, its slot is free. */
  routed(packet: object): void {
    const marked = packet as Marked;
    if (marked[ADMITTED] !== true) return;
    marked[ADMITTED] = false;
    this.inFlight -= 1;
    this.drain();
  }

  /**
   * Lets waiting publishes in while there is room, and sheds QoS 0 past its
   * deadline. A publish let in may be routed before `go` returns, and its
   * `routed` comes back here: drained again from inside, each such publish
   * would nest a level deeper, and a fast QoS 0 flood overflowed the stack.
   * So a nested call only frees the slot, and this loop goes on.
   */
  drain(): void {
    if (this.closed || this.draining) return;
    this.draining = true;
    try {
      // Answered parked publishes may have queued more: admit again until none is answered.
      do this.admit();
      while (this.release());
    } finally {
      this.draining = false;
    }
  }

  private admit(): void {
    const t = this.now();
    for (let next = this.queue.peek(); next !== undefined; next = this.queue.peek()) {
      if (next.shed && next.deadline <= t) {
        this.queue.shift();
        this.countShed(next.clientId);
        next.shed();
        continue;
      }
      if (this.inFlight >= this.opts.maxInFlight || this.pressure()) break;
      this.queue.shift();
      this.enter(next.packet, next.go);
    }
  }

  /**
   * Answers parked publishes, oldest first, while the queue is below the
   * routing capacity. Each answer may let aedes read that client's next chunk
   * at once, which refills the queue and stops this. True if it answered any.
   */
  private release(): boolean {
    let released = false;
    while (this.parked.size > 0 && this.waitingCount < this.opts.maxInFlight) {
      this.parked.shift()!();
      released = true;
    }
    return released;
  }

  get stats(): { inFlight: number; waiting: number } {
    return { inFlight: this.inFlight, waiting: this.waitingCount };
  }

  /** Clients that lost the most QoS 0 messages to overload, most first. */
  topShedders(limit = 10): Array<{ clientId: string; shed: number }> {
    return [...this.shedByClient].sort((a, b) => b[1] - a[1]).slice(0, limit).map(([clientId, shed]) => ({ clientId, shed }));
  }

  /**
   * Admits nothing more: called once the broker has closed, before ingest
   * closes, so a publish still waiting is never handed to a closed ingest (its
   * client is gone; a QoS 1/2 one was not acknowledged and will be sent again).
   */
  close(): void {
    this.closed = true;
    clearInterval(this.sweeper);
    this.queue.clear();
    this.parked.clear();
  }

  private enter(packet: object, go: () => void): void {
    this.inFlight += 1;
    (packet as Marked)[ADMITTED] = true;
    go();
  }

  private countShed(clientId: string): void {
    if (!this.shedByClient.has(clientId) && this.shedByClient.size >= (this.opts.maxTrackedClients ?? 10_000)) return;
    this.shedByClient.set(clientId, (this.shedByClient.get(clientId) ?? 0) + 1);
  }
}
