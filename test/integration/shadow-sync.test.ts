// ShadowSync against the real gateway: a command posted over HTTP reaches the
// device as a delta, the device applies what it understands and reports it,
// and the shadow read back over HTTP shows the result.
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { ShadowSync, understood, type Capability, type Settings } from '../../devices/shadow-sync.js';
import { connectClient, getJson, waitFor } from '../helpers/clients.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

const DEVICE = 'shadow-sync-1';

interface Shadow {
  state: { desired?: Record<string, unknown>; reported?: Record<string, unknown>; delta?: Record<string, unknown> };
  version: number;
}

describe('a simulated device keeps its shadow in step', () => {
  let gw: TestGateway | undefined;
  let client: MqttClient | undefined;
  let sync: ShadowSync | undefined;

  afterEach(async () => {
    sync?.close();
    await client?.endAsync(true);
    await gw?.close();
    gw = client = sync = undefined;
  });

  /** A device whose settings start at `initial`, applying deltas through understood(). */
  async function startDevice(initial: Settings, capabilities: Capability[]): Promise<{ settings: Settings; applied: Settings[] }> {
    const settings: Settings = { ...initial };
    const applied: Settings[] = [];
    client = await connectClient(gw!.mqttUrl, { clientId: DEVICE });
    sync = new ShadowSync(client, {
      deviceId: DEVICE,
      current: () => ({ ...settings }),
      apply: (delta) => {
        const accepted = understood(delta, capabilities);
        Object.assign(settings, accepted);
        applied.push(accepted);
        return accepted;
      },
    });
    await sync.start();
    return { settings, applied };
  }

  /** The shadow once `ready` holds for it. */
  async function shadowWhen(ready: (doc: Shadow) => boolean, what: string): Promise<Shadow> {
    const found = await waitFor(async () => {
      const res = await getJson<Shadow>(`${gw!.httpUrl}/api/devices/${DEVICE}/shadow`);
      return res.status === 200 && ready(res.body) ? res.body : null;
    }, { what });
    return found!;
  }

  async function command(desired: Record<string, unknown>): Promise<void> {
    const res = await fetch(`${gw!.httpUrl}/api/devices/${DEVICE}/shadow`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ state: { desired } }),
    });
    expect(res.status).toBe(200);
  }

  it('reports its settings at connect, then applies a posted command and reports it until nothing is pending', async () => {
    gw = await startTestGateway();
    const device = await startDevice({ intervalMs: 1000, relay: false, setpoint: 20 }, ['intervalMs', 'relay', 'setpoint']);
    const initial = await shadowWhen((doc) => doc.state.reported !== undefined, 'the reported settings');
    expect(initial.state).toEqual({ reported: { intervalMs: 1000, relay: false, setpoint: 20 } });

    await command({ intervalMs: 250, relay: true, setpoint: 21.5 });
    const synced = await shadowWhen((doc) => doc.state.reported?.intervalMs === 250, 'the device to report intervalMs 250');
    expect(synced.state.desired).toEqual({ intervalMs: 250, relay: true, setpoint: 21.5 });
    expect(synced.state.reported).toEqual(synced.state.desired);
    expect(synced.state.delta).toBeUndefined();
    expect(device.settings).toEqual({ intervalMs: 250, relay: true, setpoint: 21.5 });
    expect(device.applied).toEqual([{ intervalMs: 250, relay: true, setpoint: 21.5 }]);
  });

  it('leaves what it cannot apply pending: unknown fields, fields it lacks, invalid values', async () => {
    gw = await startTestGateway();
    const device = await startDevice({ intervalMs: 1000, relay: false }, ['intervalMs', 'relay']);
    await command({ intervalMs: 50, relay: true, setpoint: 19, colour: 'red' });
    const after = await shadowWhen((doc) => doc.state.reported?.relay === true, 'the device to report relay on');
    expect(after.state.reported).toEqual({ intervalMs: 1000, relay: true });
    expect(after.state.delta).toEqual({ intervalMs: 50, setpoint: 19, colour: 'red' });
    expect(device.settings).toEqual({ intervalMs: 1000, relay: true });
  });

  it('applies a command posted while it was offline once it connects', async () => {
    gw = await startTestGateway();
    await command({ intervalMs: 2000 });
    const device = await startDevice({ intervalMs: 1000 }, ['intervalMs']);
    const after = await shadowWhen((doc) => doc.state.reported?.intervalMs === 2000, 'the device to apply the stored command');
    expect(after.state.delta).toBeUndefined();
    expect(device.applied).toEqual([{ intervalMs: 2000 }]);
  });
});
