// The teaching material's table (realtime-ness, server load, complexity) filled
// with what the panels measure, and the per-hop split of the delay. Pure: the
// view (comparison-view.ts) only puts these strings on the page.
import { formatBytes, formatMs, formatPercent, formatRatio } from './format.js';
import type { MethodInfo } from './methods.js';
import type { PanelFigures } from './panel-model.js';
import { HOPS, realtimeRating, type Rating } from './stats.js';

export interface ComparisonRow {
  id: string;
  title: string;
  color: string;
  realtime: { taught: Rating; measured: Rating | null; detail: string };
  serverLoad: { taught: string; detail: string };
  complexity: { taught: Rating; detail: string };
}

export interface HopRow {
  id: string;
  title: string;
  color: string;
  hops: { label: string; ms: number | null }[];
  /** Sum of the hop medians, the width the bar is scaled to. */
  total: number | null;
}

/** One row per method, in the order given; a method without figures yet shows dashes. */
export function comparisonRows(
  methods: readonly MethodInfo[],
  figures: ReadonlyMap<string, PanelFigures>,
  clientLines: Readonly<Record<string, number>>,
): ComparisonRow[] {
  return methods.map((m) => {
    const f = figures.get(m.id);
    const p95 = f?.delays.p95 ?? null;
    const reqs = f?.requestsPerSecond;
    const load = [
      `${reqs == null ? '—' : reqs.toFixed(1)} req/s`,
      `${f?.bytesPerUpdate == null ? '—' : formatBytes(f.bytesPerUpdate)} per update`,
      `${formatRatio(f?.updatesPerRequest ?? null)} updates per request`,
    ];
    if (m.path === 'stored' && m.id !== 'sse') load.push(`${formatPercent(f?.emptyShare ?? null)} empty`);
    const counted = m.modules.map((file) => clientLines[file]);
    const lines = counted.every((n) => n !== undefined) ? counted.reduce((a, b) => a! + b!, 0) : undefined;
    return {
      id: m.id,
      title: m.title,
      color: m.color,
      realtime: {
        taught: m.taught.realtime,
        measured: realtimeRating(p95),
        detail: `p50 ${formatMs(f?.delays.p50 ?? null)} · p95 ${formatMs(p95)} · stale ${formatMs(f?.stalenessMs ?? null)}`,
      },
      serverLoad: { taught: m.taught.serverLoad, detail: `${load.join(' · ')}; holds ${m.holds}` },
      complexity: {
        taught: m.taught.complexity,
        detail: `${lines === undefined ? '' : `${lines} lines of client code; `}handles ${m.handles}`,
      },
    };
  });
}

/** Median time in each hop, device to drawn; live MQTT has no stored stamp, so fewer hops. */
export function hopRows(methods: readonly MethodInfo[], figures: ReadonlyMap<string, PanelFigures>): HopRow[] {
  return methods.map((m) => {
    const medians = figures.get(m.id)?.hops ?? [];
    const hops = HOPS[m.path].map((label, i) => ({ label, ms: medians[i] ?? null }));
    const known = hops.filter((h) => h.ms !== null);
    return {
      id: m.id,
      title: m.title,
      color: m.color,
      hops,
      total: known.length === 0 ? null : known.reduce((sum, h) => sum + Math.max(0, h.ms!), 0),
    };
  });
}
