// A load-generator process (forked by pool.ts): one role per process,
// driven by requests over the IPC channel and answered by id. The orchestrator
// ends it with SIGTERM (closing every socket at once), and it exits by itself
// when the orchestrator goes away, so no load process outlives a run.
import { connectAll, mqttConnector, type Connected } from './connect.js';
import { leanConnector } from './lean-publisher.js';
import { publishLean } from './lean-traffic.js';
import type { Reply, Request, Window } from './protocol.js';
import { publish, subscribeAll, type Device, type Subscribers } from './traffic.js';

interface State {
  connected: Connected<unknown>;
  /** What the role does in the measured window; chosen once, at connect. */
  run: (window: Window) => Promise<unknown>;
  subscribers: Subscribers | null;
}

let state: State | null = null;

function need(): State {
  if (!state) throw new Error('no role: send connect first');
  return state;
}

async function connect(request: Extract<Request, { op: 'connect' }>): Promise<State> {
  const { role } = request;
  const keepaliveS = role.kind === 'idle' ? role.keepaliveS : 60;
  if (role.kind === 'publish' && role.lean) {
    const connected = await connectAll(role.accounts, leanConnector(role.url, keepaliveS));
    const lean = connected.clients.flatMap((conn, i) => (conn ? [{ conn, index: role.firstIndex + i }] : []));
    return { connected, run: (window) => publishLean(lean, role, window), subscribers: null };
  }
  const connected = await connectAll(role.accounts, mqttConnector(role.url, keepaliveS));
  if (role.kind === 'publish') {
    const devices: Device[] = [];
    connected.clients.forEach((client, i) => {
      const id = role.accounts[i]!.clientId;
      if (client) devices.push({ client, index: role.firstIndex + i, topic: `devices/${id}/telemetry`, seq: 0 });
    });
    return { connected, run: (window) => publish(devices, role, window), subscribers: null };
  }
  const subscribers = role.kind === 'subscribe' ? await subscribeAll(connected.clients.filter((c) => c !== null), role) : null;
  return {
    connected,
    run: async (window) => {
      subscribers?.measure(window);
      return null;
    },
    subscribers,
  };
}

async function handle(request: Request): Promise<unknown> {
  switch (request.op) {
    case 'connect':
      state = await connect(request);
      return state.connected.report;
    case 'run':
      return need().run(request.window);
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
