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

/**
 * The gate rides on the packet rather than in a WeakMap: with thousands of
 * readings waiting for their commit, the WeakMap's entries made every garbage
 * collection slower (ephemerons).
 */
const GATE = Symbol('gate');
type Gated = { [GATE]?: Gate | null };

/**
 * A settle callback for ingest when `packet` is a client's QoS 1/2 PUBLISH
 * (wills and the gateway's own messages need no acknowledgement).
 */
export function trackDurability(packet: PublishPacket): ((err?: unknown) => void) | undefined {
  if (packet.qos === 0 || packet.cmd !== 'publish') return undefined;
  const gate = new Gate();
  (packet as Gated)[GATE] = gate;
  return (err) => gate.settle(err);
}

/** Forgets a tracked packet whose reading was refused (nothing will settle it). */
export function forgetDurability(packet: PublishPacket): void {
  (packet as Gated)[GATE] = null;
}

/** The `acknowledge` hook: calls `done` once the packet's reading is durable (at once for untracked packets). */
export function whenDurable(packet: object, done: Done): void {
  const gated = packet as Gated;
  const gate = gated[GATE];
  if (!gate) return done();
  gated[GATE] = null;
  gate.wait(done);
}
