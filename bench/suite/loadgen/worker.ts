// A load-generator process (forked by pool.ts): one role per process,
// driven by requests over the IPC channel and answered by id. The orchestrator
// ends it with SIGTERM (closing every socket at once), and it exits by itself
// when the orchestrator goes away, so no load process outlives a run.
import { connectAll, mqttConnector, type Connected } from './connect.js';
import { leanConnector, publishLean, type LeanDevice } from './lean-publisher.js';
import type { Reply, Request, Role } from './protocol.js';
import { publish, subscribeAll, type Device, type Subscribers } from './traffic.js';

interface State {
  role: Role;
  connected: Connected<unknown>;
  devices: Device[];
  /** The devices instead, when the role is a lean publisher. */
  lean: LeanDevice[];
  subscribers: Subscribers | null;
}

let state: State | null = null;

function need(): State {
  if (!state) throw new Error('no role: send connect first');
  return state;
}

async function handle(request: Request): Promise<unknown> {
  switch (request.op) {
    case 'connect': {
      const { role } = request;
      const keepaliveS = role.kind === 'idle' ? role.keepaliveS : 60;
      if (role.kind === 'publish' && role.lean) {
        const connected = await connectAll(role.accounts, leanConnector(role.url, keepaliveS));
        const lean = connected.clients.flatMap((conn, i) => (conn ? [{ conn, index: role.firstIndex + i }] : []));
        state = { role, connected, devices: [], lean, subscribers: null };
        return connected.report;
      }
      const connected = await connectAll(role.accounts, mqttConnector(role.url, keepaliveS));
      const devices: Device[] = [];
      if (role.kind === 'publish') {
        connected.clients.forEach((client, i) => {
          const id = role.accounts[i]!.clientId;
          if (client) devices.push({ client, index: role.firstIndex + i, topic: `devices/${id}/telemetry`, seq: 0 });
        });
      }
      const live = connected.clients.filter((c) => c !== null);
      const subscribers = role.kind === 'subscribe' ? await subscribeAll(live, role) : null;
      state = { role, connected, devices, lean: [], subscribers };
      return connected.report;
    }
    case 'run': {
      const s = need();
      if (s.role.kind === 'publish') return s.role.lean ? publishLean(s.lean, s.role, request.window) : publish(s.devices, s.role, request.window);
      s.subscribers?.measure(request.window);
      return null;
    }
    case 'report': {
      const s = need();
      return s.subscribers ? s.subscribers.report(request.full) : { open: s.connected.open() };
    }
  }
}

process.on('message', (message: { id: number; request: Request }) => {
  handle(message.request).then(
    (data) => process.send!({ id: message.id, ok: true, data } satisfies Reply),
    (err: unknown) => process.send!({ id: message.id, ok: false, error: err instanceof Error ? err.message : String(err) } satisfies Reply),
  );
});
process.on('disconnect', () => process.exit(0));
