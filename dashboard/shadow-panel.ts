// The "Device shadow" panel: the selected device's desired, reported and
// pending fields, refreshed every couple of seconds and right after a command,
// and the form that sends one. It sits in a <details> under the pickers, so
// the lab's four panels keep their place on screen, and reads the shadow only
// while open: the lab's request counts stay the lab's, and a device without a
// shadow (404, which the browser logs as an error) is not asked about unseen.
import {
  fetchShadow, formFromShadow, parseCommand, refusalText, sendDesired, shadowRows,
  ShadowHttpError, type ShadowView,
} from './shadow.js';

/** sessionStorage: the token lives as long as the tab and is never written to disk by the page. */
const TOKEN_KEY = 'gateway.adminToken';

export interface ShadowPanelIo {
  fetch: typeof fetch;
  storage: Pick<Storage, 'getItem' | 'setItem'>;
}

function part<T extends HTMLElement>(root: HTMLElement, selector: string): T {
  const el = root.querySelector<T>(selector);
  if (!el) throw new Error(`the shadow panel lacks ${selector}`);
  return el;
}

export class ShadowPanel {
  readonly #root: HTMLDetailsElement;
  readonly #io: ShadowPanelIo;
  readonly #summary: HTMLElement;
  readonly #rows: HTMLElement;
  readonly #form: HTMLFormElement;
  readonly #status: HTMLElement;
  readonly #tokenForm: HTMLFormElement;
  #deviceId: string | null = null;
  /** Answers for a device no longer selected are dropped. */
  #generation = 0;
  #loading = false;
  /** The form is filled from the shadow once per device, so a refresh never overwrites what a person is typing. */
  #filled = false;
  #lastDesired: Record<string, number | boolean> | null = null;

  constructor(root: HTMLDetailsElement, io: ShadowPanelIo) {
    this.#root = root;
    this.#io = io;
    this.#summary = part(root, '[data-field="summary"]');
    this.#rows = part(root, 'tbody');
    this.#form = part(root, 'form.shadow-form');
    this.#status = part(root, '[data-field="status"]');
    this.#tokenForm = part(root, 'form.shadow-token');
  }

  start(refreshMs: number): void {
    this.#root.addEventListener('toggle', () => void this.#reload());
    this.#form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#send();
    });
    this.#tokenForm.addEventListener('submit', (event) => {
      event.preventDefault();
      const input = this.#input('token', this.#tokenForm);
      this.#io.storage.setItem(TOKEN_KEY, input.value.trim());
      input.value = '';
      void this.#send(this.#lastDesired);
    });
    setInterval(() => void this.refresh(), refreshMs);
  }

  setDevice(deviceId: string | null): void {
    if (deviceId === this.#deviceId) return;
    this.#deviceId = deviceId;
    this.#filled = false;
    this.#setStatus('');
    this.#rows.replaceChildren();
    this.#summary.textContent = deviceId ?? 'no device';
    delete this.#root.dataset.pending;
    void this.#reload();
  }

  /** Reads the shadow now, dropping an answer still on its way: it may predate the device change or the command. */
  #reload(): Promise<void> {
    this.#generation++;
    this.#loading = false;
    return this.refresh();
  }

  async refresh(): Promise<void> {
    const deviceId = this.#deviceId;
    // A background tab need not ask; the next refresh after it is back catches up.
    if (deviceId === null || this.#loading || !this.#root.open || document.visibilityState === 'hidden') return;
    const generation = this.#generation;
    this.#loading = true;
    try {
      const view = await fetchShadow('', deviceId, this.#io.fetch);
      if (generation !== this.#generation) return;
      this.#render(view);
      if (!this.#filled && view.version !== null) {
        this.#fill(view);
        this.#filled = true;
      }
    } catch (err) {
      if (generation === this.#generation) this.#setStatus(`Cannot read the shadow: ${(err as Error).message}`, 'bad');
    } finally {
      if (generation === this.#generation) this.#loading = false;
    }
  }

  async #send(desired = this.#readForm()): Promise<void> {
    const deviceId = this.#deviceId;
    if (deviceId === null || desired === null) return;
    this.#lastDesired = desired;
    const token = this.#io.storage.getItem(TOKEN_KEY) || null;
    try {
      await sendDesired('', deviceId, desired, token, this.#io.fetch);
      this.#tokenForm.hidden = true;
      this.#setStatus(`Sent to ${deviceId}; waiting for the device to report.`, 'ok');
    } catch (err) {
      if (!(err instanceof ShadowHttpError)) return this.#setStatus(`The command did not reach the gateway: ${(err as Error).message}`, 'bad');
      const { text, askToken } = refusalText(err, token !== null);
      this.#tokenForm.hidden = !askToken;
      return this.#setStatus(text, 'bad');
    }
    await this.#reload();
  }

  /** The form's desired state, or null with the reason shown. */
  #readForm(): Record<string, number | boolean> | null {
    const parsed = parseCommand({
      intervalMs: this.#input('intervalMs').value,
      relay: this.#input('relay').checked,
      setpoint: this.#input('setpoint').value,
    });
    if (parsed.ok) return parsed.desired;
    this.#setStatus(parsed.error, 'bad');
    return null;
  }

  #fill(view: ShadowView): void {
    const form = formFromShadow(view);
    this.#input('intervalMs').value = form.intervalMs;
    this.#input('relay').checked = form.relay;
    this.#input('setpoint').value = form.setpoint;
  }

  #render(view: ShadowView): void {
    const rows = shadowRows(view);
    this.#rows.replaceChildren(...rows.map((row) => {
      const tr = document.createElement('tr');
      tr.dataset.field = row.field;
      tr.dataset.state = row.state;
      for (const text of [row.field, row.desired, row.reported, row.state]) {
        const cell = document.createElement('td');
        cell.textContent = text;
        tr.append(cell);
      }
      return tr;
    }));
    const pending = rows.filter((r) => r.state === 'pending').length;
    const device = this.#deviceId!;
    this.#summary.textContent = view.version === null
      ? `${device} · no shadow yet`
      : `${device} · ${pending === 0 ? 'in sync' : `${pending} pending`} · version ${view.version}`;
    this.#root.dataset.pending = String(pending);
  }

  #setStatus(text: string, tone: 'ok' | 'bad' | '' = ''): void {
    this.#status.textContent = text;
    this.#status.dataset.tone = tone;
  }

  #input(name: string, form: HTMLFormElement = this.#form): HTMLInputElement {
    const input = form.elements.namedItem(name);
    if (!(input instanceof HTMLInputElement)) throw new Error(`the shadow form lacks ${name}`);
    return input;
  }
}
