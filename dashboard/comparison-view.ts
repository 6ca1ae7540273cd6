// Puts the comparison table and the per-hop split on the page. All numbers and
// words come from comparison.ts; this file only builds elements.
import type { ComparisonRow, HopRow } from './comparison.js';
import { formatMs } from './format.js';

/** One colour per hop, the same in every row, so a hop can be followed down the bars. */
const HOP_COLORS: Readonly<Record<string, string>> = {
  'device → broker': '#adb5bd',
  'broker → stored': '#f59f00',
  'stored → delivered': '#e8590c',
  'device → delivered': '#4dabf7',
  'delivered → drawn': '#7048e8',
};

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: { className?: string; text?: string } = {}, ...children: Node[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.className) node.className = props.className;
  if (props.text !== undefined) node.textContent = props.text;
  node.append(...children);
  return node;
}

function rating(label: string, value: string | null): HTMLElement {
  return el('span', { className: `rating rating-${value ?? 'none'}`, text: `${label} ${value ?? '—'}` });
}

function cell(taught: string, detail: string, measured?: { value: string | null }): HTMLTableCellElement {
  const badges = el('div', { className: 'badges' }, rating('taught', taught));
  if (measured) {
    badges.append(rating('measured', measured.value));
    if (measured.value !== null) {
      const agrees = measured.value === taught;
      badges.append(el('span', { className: agrees ? 'agree' : 'disagree', text: agrees ? 'agrees' : 'differs' }));
    }
  }
  return el('td', {}, badges, el('div', { className: 'detail', text: detail }));
}

export function renderComparison(tbody: HTMLElement, rows: readonly ComparisonRow[]): void {
  tbody.replaceChildren(...rows.map((r) => {
    const name = el('th', { text: r.title });
    name.scope = 'row';
    name.style.setProperty('--method-color', r.color);
    const tr = el('tr', {}, name,
      cell(r.realtime.taught, r.realtime.detail, { value: r.realtime.measured }),
      cell(r.serverLoad.taught, r.serverLoad.detail),
      cell(r.complexity.taught, r.complexity.detail));
    tr.dataset.method = r.id;
    return tr;
  }));
}

/** Bars share one scale, the slowest method's total, so their lengths compare across methods. */
export function renderHops(root: HTMLElement, rows: readonly HopRow[]): void {
  const scale = Math.max(0, ...rows.map((r) => r.total ?? 0));
  root.replaceChildren(...rows.map((r) => {
    const bar = el('div', { className: 'hop-bar' });
    const legend = el('div', { className: 'hop-legend' });
    for (const hop of r.hops) {
      const color = HOP_COLORS[hop.label] ?? '#868e96';
      if (hop.ms !== null && scale > 0) {
        const segment = el('span', { className: 'hop-segment' });
        segment.style.width = `${(100 * Math.max(0, hop.ms)) / scale}%`;
        segment.style.background = color;
        segment.title = `${hop.label}: ${formatMs(hop.ms)}`;
        bar.append(segment);
      }
      const swatch = el('i');
      swatch.style.background = color;
      legend.append(el('span', {}, swatch, document.createTextNode(`${hop.label} ${formatMs(hop.ms)}`)));
    }
    const name = el('div', { className: 'hop-name', text: r.title });
    name.style.setProperty('--method-color', r.color);
    const row = el('div', { className: 'hop-row' }, name, el('div', { className: 'hop-total', text: formatMs(r.total) }), bar, legend);
    row.dataset.method = r.id;
    return row;
  }));
}
