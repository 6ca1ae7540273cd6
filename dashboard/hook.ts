// A read-only window onto what the panels drew, for the browser tests (and for
// anyone curious in the devtools console). Snapshots only: nothing here can
// change the page.
import type { PanelSnapshot } from './panel.js';
import type { SourceTarget } from './source.js';

export interface DashboardHook {
  /** The device and metric the panels show, null while there is none. */
  readonly target: SourceTarget | null;
  /** Keyed by method id (`short-poll`, `long-poll`, `sse`, `mqtt-ws`). */
  readonly panels: Readonly<Record<string, PanelSnapshot>>;
}

declare global {
  interface Window {
    readonly __dashboard: DashboardHook;
  }
}

export function installHook(read: { target(): SourceTarget | null; panels(): [string, PanelSnapshot][] }): void {
  Object.defineProperty(window, '__dashboard', {
    value: Object.freeze({
      get target() {
        const target = read.target();
        return target === null ? null : { ...target };
      },
      get panels() {
        return Object.freeze(Object.fromEntries(read.panels()));
      },
    }),
  });
}
