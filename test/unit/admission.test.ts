import { afterEach, describe, expect, it } from 'vitest';
import type { Client, PublishPacket } from 'aedes';
import { Admission } from '../../broker/mqtt/admission.js';

const client = (id: string) => ({ id }) as unknown as Client;
const packet = (qos: 0 | 1) => ({ cmd: 'publish', topic: 't', payload: Buffer.alloc(0), qos, retain: false, dup: false }) as PublishPacket;

let admission: Admission | undefined;
afterEach(() => admission?.close());

function setup(maxInFlight: number, pressure = () => false) {
  const clock = { t: 0 };
  admission = new Admission({ maxInFlight, shedAfterMs: 100, pressure, now: () => clock.t });
  const log: string[] = [];
  const request = (id: string, p: PublishPacket, name: string) =>
    admission!.request(client(id), p, () => log.push(`go ${name}`), () => log.push(`shed ${name}`));
  return { clock, log, request, admission };
}

describe('Admission', () => {
  it('admits up to the limit, then queues in order and admits as slots free', () => {
    const { log, request, admission } = setup(2);
    const [a, b, c, d] = [packet(1), packet(1), packet(1), packet(0)];
    request('x', a, 'a');
    request('x', b, 'b');
    request('x', c, 'c');
    request('y', d, 'd');
    expect(log).toEqual(['go a', 'go b']);
    expect(admission.stats).toEqual({ inFlight: 2, waiting: 2 });
    admission.routed(a);
    expect(log).toEqual(['go a', 'go b', 'go c']);
    admission.routed(b);
    expect(log.at(-1)).toBe('go d');
    admission.routed({});
    expect(admission.stats.inFlight).toBe(2);
  });

  it('admits a long queue whose publishes are routed before go returns without nesting a call per publish', () => {
    admission = new Admission({ maxInFlight: 1, shedAfterMs: 100 });
    const first = packet(1);
    admission.request(client('x'), first, () => {}, () => {});
    let routed = 0;
    for (let i = 0; i < 50_000; i++) {
      const p = packet(1);
      // Routed synchronously, as aedes does when every delivery completes at once.
      admission.request(client('x'), p, () => {
        routed += 1;
        admission!.routed(p);
      }, () => {});
    }
    expect(() => admission!.routed(first)).not.toThrow();
    expect(routed).toBe(50_000);
    expect(admission.stats).toEqual({ inFlight: 0, waiting: 0 });
  });

  it('hands nothing more to ingest once closed: a publish still waiting is neither admitted nor shed', () => {
    const { clock, log, request, admission } = setup(1);
    const a = packet(1);
    request('x', a, 'a');
    request('x', packet(1), 'b');
    request('y', packet(0), 'c');
    admission.close();
    clock.t = 1_000;
    admission.routed(a);
    admission.drain();
    request('z', packet(1), 'd');
    expect(log).toEqual(['go a']);
  });

  it('sheds a waiting QoS 0 message after its deadline, never a QoS 1 one, and counts by client', () => {
    const { clock, log, request, admission } = setup(1);
    const first = packet(1);
    request('x', first, 'first');
    request('flooder', packet(0), 'q0');
    request('x', packet(1), 'q1');
    clock.t = 100;
    admission.drain();
    expect(log).toEqual(['go first', 'shed q0']);
    clock.t = 10_000;
    admission.drain();
    expect(log).toEqual(['go first', 'shed q0']);
    admission.routed(first);
    expect(log.at(-1)).toBe('go q1');
    expect(admission.topShedders()).toEqual([{ clientId: 'flooder', shed: 1 }]);
  });

  it('makes a client that keeps flooding wait longer before its QoS 0 is shed', () => {
    const { clock, log, request, admission } = setup(1);
    request('x', packet(1), 'hold');
    const flooder = client('flooder');
    admission.request(flooder, packet(0), () => log.push('go'), () => log.push(`shed at ${clock.t}`));
    clock.t = 100;
    admission.drain();
    admission.request(flooder, packet(0), () => log.push('go'), () => log.push(`shed at ${clock.t}`));
    clock.t = 250;
    admission.drain();
    clock.t = 300;
    admission.drain();
    expect(log).toEqual(['go hold', 'shed at 100', 'shed at 300']);
  });

  it('sheds QoS 0 on arrival once the queue holds twice the routing capacity, reporting it when the queue has room', () => {
    const { log, request, admission } = setup(1);
    const hold = packet(1);
    const w1 = packet(1);
    request('x', hold, 'hold');
    request('x', w1, 'w1');
    request('x', packet(1), 'w2');
    request('y', packet(0), 'late');
    // Reported at once, aedes would read y's next packets at once, only to shed them too.
    expect(log).toEqual(['go hold']);
    expect(admission.topShedders()).toEqual([{ clientId: 'y', shed: 1 }]);
    admission.routed(hold);
    expect(log).toEqual(['go hold', 'go w1']);
    admission.routed(w1);
    expect(log).toEqual(['go hold', 'go w1', 'go w2', 'shed late']);
  });

  it('admits nothing while memory is short, and lets the queue in when drained after relief', () => {
    let short = true;
    const { log, request, admission } = setup(10, () => short);
    request('x', packet(1), 'a');
    expect(log).toEqual([]);
    short = false;
    admission.drain();
    expect(log).toEqual(['go a']);
  });
});
