// Holds a QoS 1/2 telemetry publish's acknowledgement until ingest has its
// reading in the store or the spool. aedes routes the message first, then asks
// the `acknowledge` hook (an option patches/aedes+1.2.0.patch adds) before it
// writes the PUBACK/PUBREC: live subscribers get the reading at once, and the
// device's in-flight window throttles it while the store is slow. Meanwhile
// aedes goes on reading the device's next publishes, up to a window of
// unacknowledged ones, and writes the PUBACKs in order.
import type { PublishPacket } from 'aedes';

type Done = (err?: Error | null) => void;

class Gate {
  private settled = false;
  private error: unknown;
  private waiter: Done | null = null;

  settle(err?: unknown): void {
    this.settled = true;
    this.error = err;
    this.waiter?.(this.failure());
  }

  wait(done: Done): void {
    if (this.settled) done(this.failure());
    else this.waiter = done;
  }

  private failure(): Error | null {
    return this.error ? new Error('the reading could not be stored', { cause: this.error }) : null;
  }
}

export class Durability {
  private readonly gates = new WeakMap<object, Gate>();

  /**
   * A settle callback for ingest when `packet` is a client's QoS 1/2 PUBLISH
   * (wills and the gateway's own messages need no acknowledgement).
   */
  track(packet: PublishPacket): ((err?: unknown) => void) | undefined {
    if (packet.qos === 0 || packet.cmd !== 'publish') return undefined;
    const gate = new Gate();
    this.gates.set(packet, gate);
    return (err) => gate.settle(err);
  }

  /** Forgets a tracked packet whose reading was refused (nothing will settle it). */
  forget(packet: PublishPacket): void {
    this.gates.delete(packet);
  }

  /** The `acknowledge` hook: calls `done` once the packet's reading is durable (at once for untracked packets). */
  acknowledge(packet: object, done: Done): void {
    const gate = this.gates.get(packet);
    if (!gate) return done();
    this.gates.delete(packet);
    gate.wait(done);
  }
}
