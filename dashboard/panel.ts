// One comparison panel: a source feeding a ring buffer feeding a chart, with
// the delay from the device's timestamp to the frame that drew the point.
// Panels are built from a spec, so the realtime lab adds methods by adding specs.
import { createChart, type Chart } from './chart.js';
import { formatByteCount, formatCount, formatMs } from './format.js';
import { SeriesBuffer } from './series.js';
import type { Source, SourceCounters, SourceFactory, SourcePoint, SourceStatus, SourceTarget } from './source.js';
import { emptyCounters } from './source.js';
import {
  pushBounded,
  ratePerSecond,
  summarizeDelays,
  trimSamples,
  type CounterSample,
  type DelaySummary,
} from './stats.js';

export interface PanelSpec {
  /** Key in the test hook and the panel's `data-panel`. */
  id: string;
  title: string;
  /** One line on how the method delivers, shown under the title. */
  how: string;
  /** Line colour. */
  color: string;
  create: SourceFactory;
}

export interface PanelLimits {
  /** Points the chart keeps. */
  capacity: number;
  /** Time span the chart keeps, ms before its newest point. */
  windowMs: number;
  /** Delay samples the percentiles are taken over. */
  delaySamples: number;
  /** Span the rates are averaged over, ms. */
  rateWindowMs: number;
}

/** What the panel has drawn and counted; read by the test hook. */
export interface PanelSnapshot {
  status: SourceStatus;
  detail: string;
  /** Points in the chart's buffer, i.e. drawn or about to be. */
  points: number;
  seqs: (number | null)[];
  delays: DelaySummary;
  counters: SourceCounters;
}

export class Panel {
  readonly id: string;
  private readonly buffer: SeriesBuffer;
  private chart: Chart | null = null;
  private source: Source | null = null;
  private status: SourceStatus = 'idle';
  private detail = 'choose a device';
  // Points accepted since the last setData, then the ones that setData is drawing.
  private pending: SourcePoint[] = [];
  private drawing: SourcePoint[] = [];
  private frame = 0;
  private delays: number[] = [];
  private pointSamples: CounterSample[] = [];
  private byteSamples: CounterSample[] = [];

  constructor(
    private readonly spec: PanelSpec,
    private readonly root: HTMLElement,
    private readonly limits: PanelLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.id = spec.id;
    this.buffer = new SeriesBuffer({ capacity: limits.capacity, windowMs: limits.windowMs });
    root.dataset.panel = spec.id;
    root.style.setProperty('--panel-color', spec.color);
    this.field('title').textContent = spec.title;
    this.field('how').textContent = spec.how;
    this.render();
  }

  /** Restarts the panel on a new device or metric; null shows nothing. */
  setTarget(target: SourceTarget | null): void {
    this.source?.stop();
    this.source = null;
    this.chart?.destroy();
    this.chart = null;
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.buffer.clear();
    this.pending = [];
    this.drawing = [];
    this.delays = [];
    this.pointSamples = [];
    this.byteSamples = [];
    this.setStatus('idle', 'choose a device');
    if (target === null) return;

    this.chart = createChart(this.field('chart'), {
      label: `${target.deviceId} · ${target.metric}`,
      stroke: this.spec.color,
      height: 260,
      onDraw: () => this.onDraw(),
    });
    // Callbacks of a replaced source are ignored: it may still deliver one in-flight answer.
    const source: Source = this.spec.create(target, {
      onPoints: (points, batch) => {
        if (this.source === source) this.onPoints(points, batch.backfill);
      },
      onStatus: (status, detail) => {
        if (this.source === source) this.setStatus(status, detail);
      },
    });
    this.source = source;
    source.start();
  }

  /** Samples the counters for the rates and redraws the figures; called on a steady tick. */
  tick(): void {
    const t = this.now();
    const c = this.counters();
    this.pointSamples = trimSamples([...this.pointSamples, { t, value: c.points }], t, this.limits.rateWindowMs);
    this.byteSamples = trimSamples([...this.byteSamples, { t, value: c.bytes }], t, this.limits.rateWindowMs);
    this.render();
  }

  snapshot(): PanelSnapshot {
    return {
      status: this.status,
      detail: this.detail,
      points: this.buffer.size,
      seqs: this.buffer.seqs(),
      delays: summarizeDelays(this.delays),
      counters: this.counters(),
    };
  }

  private onPoints(points: SourcePoint[], backfill: boolean): void {
    const kept = this.buffer.push(points);
    if (!backfill) pushBounded(this.pending, kept, this.limits.capacity);
    // One setData per frame however many batches arrive: drawing is what we measure, not queueing.
    if (this.frame === 0) this.frame = requestAnimationFrame(() => this.draw());
  }

  private draw(): void {
    this.frame = 0;
    this.drawing = this.pending;
    this.pending = [];
    this.chart?.setData(this.buffer.columns());
  }

  private onDraw(): void {
    if (this.drawing.length === 0) return;
    const drawnAt = this.now();
    pushBounded(this.delays, this.drawing.map((p) => drawnAt - p.ts), this.limits.delaySamples);
    this.drawing = [];
    this.render();
  }

  private setStatus(status: SourceStatus, detail: string): void {
    this.status = status;
    this.detail = detail;
    this.render();
  }

  private counters(): SourceCounters {
    return this.source?.counters ?? emptyCounters();
  }

  private render(): void {
    const delays = summarizeDelays(this.delays);
    const c = this.counters();
    this.root.dataset.status = this.status;
    this.root.dataset.points = String(this.buffer.size);
    const status = this.field('status');
    status.textContent = this.status;
    status.title = this.detail;
    this.field('delay-p50').textContent = formatMs(delays.p50);
    this.field('delay-p95').textContent = formatMs(delays.p95);
    this.field('delay-last').textContent = formatMs(delays.last);
    this.field('points').textContent = formatCount(c.points, ratePerSecond(this.pointSamples));
    this.field('requests').textContent = String(c.requests);
    this.field('bytes').textContent = formatByteCount(c.bytes, ratePerSecond(this.byteSamples));
    this.field('errors').textContent = String(c.errors);
  }

  private field(name: string): HTMLElement {
    const el = this.root.querySelector<HTMLElement>(`[data-field="${name}"]`);
    if (!el) throw new Error(`panel template lacks [data-field="${name}"]`);
    return el;
  }
}
