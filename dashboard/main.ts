// Entry point: builds the panels from PANELS, keeps the device and metric
// pickers in step with GET /api/devices, and exposes a read-only test hook.
import { dashboardClientId, liveSource, mqttUrlFor } from './live-source.js';
import { fetchDevices, resolveTarget, sameTarget, type DeviceInfo, type Wanted } from './devices.js';
import { installHook } from './hook.js';
import { Panel, type PanelLimits, type PanelSpec } from './panel.js';
import { pollSource, type SourceTarget } from './source.js';

const POLL_INTERVAL_MS = 1000;
const DEVICES_REFRESH_MS = 3000;
const FIGURES_TICK_MS = 1000;
const LIMITS: PanelLimits = { capacity: 2000, windowMs: 5 * 60_000, delaySamples: 600, rateWindowMs: 10_000 };

/** One entry per delivery method; order is left to right. */
const PANELS: PanelSpec[] = [
  {
    id: 'live',
    title: 'Live · MQTT over WebSocket',
    how: 'The broker pushes each reading the moment the device publishes it; nothing is read from the store.',
    color: '#1f6feb',
    create: (target, handlers) =>
      liveSource({ ...target, url: mqttUrlFor(location), clientId: dashboardClientId() }, handlers),
  },
  {
    id: 'poll',
    title: `Polling · GET /series every ${POLL_INTERVAL_MS / 1000} s`,
    how: 'Asks for the points stored after its cursor; the delay includes ingest batching, the store and the wait for the next request.',
    color: '#d9480f',
    create: (target, handlers) => pollSource({ ...target, baseUrl: '', intervalMs: POLL_INTERVAL_MS }, handlers),
  },
];

function element<T extends HTMLElement>(selector: string): T {
  const el = document.querySelector<T>(selector);
  if (!el) throw new Error(`index.html lacks ${selector}`);
  return el;
}

const deviceSelect = element<HTMLSelectElement>('#device');
const metricSelect = element<HTMLSelectElement>('#metric');
const notice = element<HTMLElement>('#notice');
const template = element<HTMLTemplateElement>('#panel-template');
const panelsRoot = element<HTMLElement>('#panels');

const panels = PANELS.map((spec) => {
  const root = (template.content.firstElementChild as HTMLElement).cloneNode(true) as HTMLElement;
  panelsRoot.append(root);
  return new Panel(spec, root, LIMITS);
});

const query = new URLSearchParams(location.search);
let wanted: Wanted = { deviceId: query.get('device'), metric: query.get('metric') };
let devices: DeviceInfo[] = [];
let target: SourceTarget | null = null;

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
  const next = resolveTarget(devices, wanted);
  const device = devices.find((d) => d.id === next?.deviceId);
  setOptions(deviceSelect, devices.map((d) => [d.id, `${d.id} · ${d.online ? 'online' : 'offline'}`]), next?.deviceId ?? null);
  setOptions(metricSelect, (device?.metrics ?? []).map((m) => [m, m]), next?.metric ?? null);
  if (sameTarget(next, target)) return;
  target = next;
  for (const panel of panels) panel.setTarget(target);
  if (target) history.replaceState(null, '', `?${new URLSearchParams({ device: target.deviceId, metric: target.metric })}`);
}

async function refreshDevices(): Promise<void> {
  try {
    devices = await fetchDevices('');
    notice.textContent = devices.length === 0 ? 'No devices yet: start a simulated fleet with "npm run devices".' : '';
  } catch (err) {
    notice.textContent = `Cannot list devices: ${err instanceof Error ? err.message : String(err)}`;
  }
  apply();
}

deviceSelect.addEventListener('change', () => {
  wanted = { deviceId: deviceSelect.value, metric: target?.metric ?? wanted.metric };
  apply();
});
metricSelect.addEventListener('change', () => {
  wanted = { deviceId: target?.deviceId ?? deviceSelect.value, metric: metricSelect.value };
  apply();
});

installHook({ target: () => target, panels: () => panels.map((p) => [p.id, p.snapshot()]) });

void refreshDevices();
setInterval(() => void refreshDevices(), DEVICES_REFRESH_MS);
setInterval(() => {
  for (const panel of panels) panel.tick();
}, FIGURES_TICK_MS);
