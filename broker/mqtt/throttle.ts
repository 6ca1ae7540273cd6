// Per-connection publish rate limit (IoT Core: 100 publishes/s per
// connection). QoS 0 over the rate is dropped (the caller counts it); QoS 1 and 2 are
// held back instead: aedes reads a client's next packets only when the
// current ones are handled, so holding the callback slows the publisher
// through TCP backpressure without losing anything acknowledged.
import type { Client, PublishPacket } from 'aedes';
import type { Metrics } from '../metrics.js';
import { TokenBucket } from '../rate-limit.js';

export interface PublishLimits {
  /** Sustained publishes per second per connection. */
  publishRate: number;
  /** Publishes a connection may send at once above the rate. */
  publishBurst: number;
}

export type Verdict = 'pass' | 'drop' | 'disconnect';

interface State {
  bucket: TokenBucket;
  /** Budget for dropped QoS 0 excess: ten seconds' worth at the rate; empty means repeated excess. */
  excess: TokenBucket;
}

export function createPublishThrottle(limits: PublishLimits, metrics: Metrics, now: () => number) {
  const states = new WeakMap<Client, State>();

  function stateOf(client: Client): State {
    let state = states.get(client);
    if (!state) {
      state = {
        bucket: new TokenBucket(limits.publishRate, limits.publishBurst, now),
        excess: new TokenBucket(limits.publishRate, limits.publishRate * 10, now),
      };
      states.set(client, state);
    }
    return state;
  }

  return function throttle(client: Client, packet: PublishPacket, decide: (verdict: Verdict) => void): void {
    const state = stateOf(client);
    if (state.bucket.take()) return decide('pass');
    if (packet.qos === 0) {
      if (!state.excess.take()) {
        metrics.mqttThrottled.inc({ qos: '0', action: 'disconnected' });
        return decide('disconnect');
      }
      return decide('drop');
    }
    metrics.mqttThrottled.inc({ qos: String(packet.qos), action: 'delayed' });
    const retry = () => {
      if (client.closed) return;
      if (state.bucket.take()) return decide('pass');
      setTimeout(retry, state.bucket.waitMs());
    };
    setTimeout(retry, state.bucket.waitMs());
  };
}
