// A thin uPlot wrapper: one time series per chart, fed columnar data with
// setData (uPlot demos/stream-data.html), sized to its container.
import uPlot from 'uplot';
import { tickLabels } from './format.js';
import { gapsIn, type SeriesColumns } from './series.js';

export interface ChartOptions {
  /** Legend label of the series, e.g. the metric name. */
  label: string;
  /** Line colour (CSS). */
  stroke: string;
  /** Plot height in CSS px; the width follows the container. */
  height: number;
  /**
   * Called after uPlot has painted new data into the canvas. uPlot draws in a
   * microtask after setData, so this, not setData's return, is "drawn".
   */
  onDraw(): void;
}

export interface Chart {
  setData(columns: SeriesColumns): void;
  destroy(): void;
}

export function createChart(container: HTMLElement, opts: ChartOptions): Chart {
  const plot = new uPlot(
    {
      width: Math.max(container.clientWidth, 200),
      height: opts.height,
      // The sources speak milliseconds; uPlot assumes seconds unless told.
      ms: 1,
      scales: { x: { time: true } },
      series: [{}, {
        label: opts.label, stroke: opts.stroke, width: 1.5, points: { size: 4 },
        // The line stops where readings stopped (series.ts, gapsIn); uPlot clips these canvas-pixel spans out of
        // it. Its own gaps come from null values, which the typed columns never hold, so there are none to keep.
        gaps: (u, _series, idx0, idx1) => gapsIn(u.data[0], idx0, idx1).map((i): [number, number] => [
          Math.round(u.valToPos(u.data[0][i]!, 'x', true)), Math.round(u.valToPos(u.data[0][i + 1]!, 'x', true)),
        ]),
      }],
      // Wider tick spacing than uPlot's default keeps the two-line time labels from overlapping in a half-width panel.
      // The value axis is as wide as its longest label (about 7 px a character at uPlot's 12 px font):
      // a fixed 56 px cut the first digit off labels such as 94.2175.
      axes: [
        { space: 80 },
        {
          values: (_plot, ticks, _axis, _space, step) => tickLabels(ticks, step),
          size: (_plot, labels) => 18 + 7 * Math.max(4, ...(labels ?? []).map((label) => label.length)),
        },
      ],
      cursor: { drag: { x: false, y: false } },
      hooks: { draw: [() => opts.onDraw()] },
    },
    [[], []],
    container,
  );

  // Follow the panel's width, so the 2x2 grid of panels shares the page evenly at any window size.
  const resize = new ResizeObserver(() => {
    const width = Math.max(container.clientWidth, 200);
    if (width !== plot.width) plot.setSize({ width, height: opts.height });
  });
  resize.observe(container);

  return {
    setData(columns) {
      plot.setData(columns);
    },
    destroy() {
      resize.disconnect();
      plot.destroy();
    },
  };
}
