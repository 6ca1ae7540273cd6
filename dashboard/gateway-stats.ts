// The gateway's own figures in one line under the pickers: connections,
// readings stored and refused, and — the point of it — what the gateway shed
// under load (QoS 0 over a client's rate or past its routing capacity, and
// messages a slow subscriber could not take), so drops are never silent.
// Read from GET /api/gateway, which reads the same counters as /metrics.

export interface GatewayStats {
  connections: Record<string, number>;
  readings: { stored: number; rejected: Record<string, number> };
  dropped: Record<string, number>;
  forwardDropped: number;
  topShedders: Array<{ clientId: string; shed: number }>;
  memory: { rssBytes: number; pressure: boolean };
}

const sum = (values: Record<string, number>) => Object.values(values).reduce((a, b) => a + b, 0);
const count = (n: number) => n.toLocaleString('en-US');

/** The strip's items, label and value; pure, so it is tested without a page. */
export function statItems(s: GatewayStats): Array<{ key: string; label: string; value: string; alert: boolean }> {
  const shed = (s.dropped.overload ?? 0) + (s.dropped.rate_limited ?? 0);
  const worst = s.topShedders[0];
  return [
    { key: 'connections', label: 'MQTT connections', value: count(sum(s.connections)), alert: false },
    { key: 'stored', label: 'readings stored', value: count(s.readings.stored), alert: false },
    { key: 'rejected', label: 'readings refused', value: count(sum(s.readings.rejected)), alert: false },
    {
      key: 'shed',
      label: 'QoS 0 shed (overload / rate limit)',
      value: `${count(s.dropped.overload ?? 0)} / ${count(s.dropped.rate_limited ?? 0)}${worst ? ` · most: ${worst.clientId}` : ''}`,
      alert: shed > 0,
    },
    { key: 'slow', label: 'dropped for slow subscribers', value: count(s.forwardDropped), alert: s.forwardDropped > 0 },
    { key: 'memory', label: 'gateway memory', value: `${Math.round(s.memory.rssBytes / 2 ** 20)} MiB${s.memory.pressure ? ' (over its limit)' : ''}`, alert: s.memory.pressure },
  ];
}

/** Polls every few seconds while the page is visible and renders into `root`. */
export function startGatewayStats(root: HTMLElement, fetchImpl: typeof fetch, intervalMs = 3000): () => void {
  let stopped = false;
  const render = (s: GatewayStats) => {
    root.replaceChildren(...statItems(s).map((item) => {
      const el = document.createElement('span');
      el.className = item.alert ? 'stat alert' : 'stat';
      el.dataset.stat = item.key;
      el.textContent = `${item.label}: ${item.value}`;
      return el;
    }));
  };
  const tick = async () => {
    if (stopped || document.hidden) return;
    try {
      const response = await fetchImpl('/api/gateway');
      if (response.ok) render((await response.json()) as GatewayStats);
    } catch {
      // The next tick tries again; the lab panels report connection problems themselves.
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), intervalMs);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
