// Entry point: one panel per method in METHODS, the device and metric pickers
// kept in step with GET /api/devices, the short-poll interval control, pausing
// in background tabs, the comparison under the panels, the device shadow
// panel, and a read-only test hook.
import { browserWebSocket, connectEventSource, resourceTimingMeter } from './browser-io.js';
import { comparisonRows, hopRows } from './comparison.js';
import { renderComparison, renderHops } from './comparison-view.js';
import { fetchDevices, liveliestMetric, nextTarget, resolveTarget, sameTarget, type DeviceInfo, type Wanted } from './devices.js';
import { getSeries } from './http.js';
import { installHook } from './hook.js';
import { dashboardClientId, mqttUrlFor } from './live-source.js';
import { createSource, DEFAULT_SETTINGS, METHODS, type MethodSettings, type SourceIo } from './methods.js';
import { Panel } from './panel.js';
import type { PanelLimits } from './panel-model.js';
import { ShadowPanel } from './shadow-panel.js';
import { startGatewayStats } from './gateway-stats.js';
import { emptyCounters, type SourceTarget } from './source.js';

/** Non-blank, non-comment lines of each source module, counted by scripts/build-dashboard.mjs. */
declare const __CLIENT_LINES__: Record<string, number>;

const DEVICES_REFRESH_MS = 3000;
const SHADOW_REFRESH_MS = 2000;
const FIGURES_TICK_MS = 500;
// 2000 points is over three minutes at 10 updates/s; the window caps slower series at five minutes.
const LIMITS: PanelLimits = { capacity: 2000, windowMs: 5 * 60_000, delaySamples: 600, rateWindowMs: 10_000 };
const POLL_RANGE_S = { min: 0.1, max: 60 };

function element<T extends HTMLElement>(selector: string, root: ParentNode = document): T {
  const el = root.querySelector<T>(selector);
  if (!el) throw new Error(`index.html lacks ${selector}`);
  return el;
}

const deviceSelect = element<HTMLSelectElement>('#device');
const metricSelect = element<HTMLSelectElement>('#metric');
const notice = element<HTMLElement>('#notice');
const template = element<HTMLTemplateElement>('#panel-template');
const panelsRoot = element<HTMLElement>('#panels');
const comparisonBody = element<HTMLElement>('#comparison tbody');
const hopsRoot = element<HTMLElement>('#hops');
const pollTemplate = element<HTMLTemplateElement>('#poll-interval-template');
startGatewayStats(element<HTMLElement>('#gateway-stats'), globalThis.fetch.bind(globalThis));
const shadowPanel = new ShadowPanel(element<HTMLDetailsElement>('#shadow'), { fetch: globalThis.fetch.bind(globalThis), storage: sessionStorage });

const query = new URLSearchParams(location.search);
const requestedPoll = Number(query.get('poll'));
let pollIntervalMs = requestedPoll >= POLL_RANGE_S.min && requestedPoll <= POLL_RANGE_S.max ? requestedPoll * 1000 : 1000;

const io: SourceIo = {
  http: { baseUrl: '', fetch: globalThis.fetch.bind(globalThis), meter: resourceTimingMeter(), now: Date.now },
  mqttUrl: mqttUrlFor(location),
  clientId: dashboardClientId,
  sse: connectEventSource,
  ws: browserWebSocket,
};
const settings: MethodSettings = { ...DEFAULT_SETTINGS, pollIntervalMs: () => pollIntervalMs, limit: LIMITS.capacity };

const panels = METHODS.map((info) => {
  const root = (template.content.firstElementChild as HTMLElement).cloneNode(true) as HTMLElement;
  panelsRoot.append(root);
  return new Panel({ info, create: (target, handlers) => createSource(info.id, target, io, settings, handlers) }, root, LIMITS);
});

let wanted: Wanted = { deviceId: query.get('device'), metric: query.get('metric') };
let devices: DeviceInfo[] = [];
let target: SourceTarget | null = null;

function updateUrl(): void {
  const params = new URLSearchParams();
  if (target) {
    params.set('device', target.deviceId);
    params.set('metric', target.metric);
  }
  if (pollIntervalMs !== 1000) params.set('poll', String(pollIntervalMs / 1000));
  history.replaceState(null, '', `?${params}`);
}

// The short-poll panel gets its interval control; the source reads the interval before every wait.
const pollPanel = panels.find((p) => p.id === 'short-poll')!;
const pollControl = (pollTemplate.content.firstElementChild as HTMLElement).cloneNode(true) as HTMLElement;
element('[data-field="controls"]', pollPanel.root).append(pollControl);
const pollInput = element<HTMLInputElement>('input', pollControl);
Object.assign(pollInput, { min: String(POLL_RANGE_S.min), max: String(POLL_RANGE_S.max), value: String(pollIntervalMs / 1000) });
pollInput.addEventListener('change', () => {
  const seconds = Number(pollInput.value);
  if (!(seconds >= POLL_RANGE_S.min && seconds <= POLL_RANGE_S.max)) {
    pollInput.value = String(pollIntervalMs / 1000);
    return;
  }
  pollIntervalMs = Math.round(seconds * 1000);
  updateUrl();
});

/** Replaces a select's options only when they changed, so an open dropdown is not reset every refresh. */
function setOptions(select: HTMLSelectElement, options: [value: string, label: string][], selected: string | null): void {
  const current = Array.from(select.options, (o) => [o.value, o.text].join('\0')).join('\n');
  if (current !== options.map((o) => o.join('\0')).join('\n')) {
    select.replaceChildren(...options.map(([value, label]) => new Option(label, value)));
  }
  select.value = selected ?? '';
  select.disabled = options.length === 0;
}

function apply(): void {
  const next = nextTarget(devices, wanted, target);
  const device = devices.find((d) => d.id === next?.deviceId);
  setOptions(deviceSelect, devices.map((d) => [d.id, `${d.id} · ${d.online ? 'online' : 'offline'}`]), next?.deviceId ?? null);
  setOptions(metricSelect, (device?.metrics ?? []).map((m) => [m, m]), next?.metric ?? null);
  shadowPanel.setDevice(next?.deviceId ?? null);
  if (sameTarget(next, target)) return;
  target = next;
  for (const panel of panels) panel.setTarget(target);
  updateUrl();
}

/** Choices made in the pickers so far: a default worked out before the latest one is stale. */
let choices = 0;

/**
 * `asked` with a metric when it names none: the liveliest of the device it
 * would show over its newest 30 points (devices.ts), or none (its first)
 * when they cannot be read. Counted apart from every panel's traffic.
 */
async function withDefaultMetric(asked: Wanted): Promise<Wanted> {
  if (asked.metric !== null) return asked;
  const device = devices.find((d) => d.id === resolveTarget(devices, asked)?.deviceId);
  if (!device || device.metrics.length < 2) return asked;
  try {
    const recent = await Promise.all(device.metrics.map(async (metric) => {
      const page = await getSeries(io.http, { deviceId: device.id, metric }, { limit: 30 }, emptyCounters());
      return [metric, page.points.map((p) => p.value)] as const;
    }));
    return { ...asked, metric: liveliestMetric(recent) };
  } catch {
    return asked;
  }
}

async function refreshDevices(): Promise<void> {
  try {
    devices = await fetchDevices('');
    notice.textContent = devices.length === 0 ? 'No devices yet: start a simulated fleet with "npm run devices".' : '';
  } catch (err) {
    notice.textContent = `Cannot list devices: ${err instanceof Error ? err.message : String(err)}`;
  }
  if (target === null && wanted.metric === null) {
    const asked = choices;
    const picked = await withDefaultMetric(wanted);
    // Unless a choice in the pickers came meanwhile.
    if (asked === choices) wanted = picked;
  }
  apply();
}

deviceSelect.addEventListener('change', () => {
  const mine = ++choices;
  const device = devices.find((d) => d.id === deviceSelect.value);
  const shown = target?.metric ?? wanted.metric;
  // The metric shown stays if the device has it; else the device's liveliest, once known.
  void withDefaultMetric({ deviceId: deviceSelect.value, metric: shown !== null && device?.metrics.includes(shown) ? shown : null }).then((picked) => {
    if (mine !== choices) return;
    wanted = picked;
    apply();
  });
});
metricSelect.addEventListener('change', () => {
  choices += 1;
  wanted = { deviceId: target?.deviceId ?? deviceSelect.value, metric: metricSelect.value };
  apply();
});
// A background tab draws no frames and its timers are throttled: stop asking, and catch up when it is back.
document.addEventListener('visibilitychange', () => {
  for (const panel of panels) {
    if (document.visibilityState === 'hidden') panel.pause();
    else panel.resume();
  }
});

installHook({ target: () => target, panels: () => panels.map((p) => [p.id, p.snapshot()]) });

void refreshDevices();
setInterval(() => void refreshDevices(), DEVICES_REFRESH_MS);
shadowPanel.start(SHADOW_REFRESH_MS);
setInterval(() => {
  // The comparison shows the figures each panel has just drawn, not a second computation of them.
  const figures = new Map(panels.map((p) => [p.id, p.tick()]));
  renderComparison(comparisonBody, comparisonRows(METHODS, figures, __CLIENT_LINES__));
  renderHops(hopsRoot, hopRows(METHODS, figures));
}, FIGURES_TICK_MS);
