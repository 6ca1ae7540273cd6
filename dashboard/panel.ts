// One method's panel: a source feeding the model's buffer feeding a chart,
// measuring each point from the device's timestamp to the frame that drew it.
import { createChart, type Chart } from './chart.js';
import { formatBytes, formatCount, formatMs, formatPercent, formatRatio, formatRate } from './format.js';
import type { MethodInfo } from './methods.js';
import { PanelModel, type PanelFigures, type PanelLimits } from './panel-model.js';
import type { Source, SourceFactory, SourcePoint, SourceStatus, SourceTarget } from './source.js';
import { emptyCounters } from './source.js';

export interface PanelSpec {
  info: MethodInfo;
  create: SourceFactory;
}

/** What the panel has drawn and counted; read by the test hook. */
export interface PanelSnapshot {
  status: SourceStatus;
  detail: string;
  /** Points in the chart's buffer, i.e. drawn or about to be. */
  points: number;
  seqs: (number | null)[];
  figures: PanelFigures;
}

export class Panel {
  readonly id: string;
  readonly model: PanelModel;
  private chart: Chart | null = null;
  private source: Source | null = null;
  private status: SourceStatus = 'idle';
  private detail = 'choose a device';
  // Points accepted since the last setData, then the ones that setData is drawing.
  private pending: SourcePoint[] = [];
  private drawing: SourcePoint[] = [];
  private frame = 0;

  constructor(
    private readonly spec: PanelSpec,
    readonly root: HTMLElement,
    limits: PanelLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.id = spec.info.id;
    this.model = new PanelModel(spec.info.path, limits);
    root.dataset.panel = spec.info.id;
    root.style.setProperty('--panel-color', spec.info.color);
    this.field('title').textContent = spec.info.title;
    this.field('how').textContent = spec.info.how;
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
    this.model.reset();
    this.pending = [];
    this.drawing = [];
    this.setStatus('idle', 'choose a device');
    if (target === null) return;

    this.chart = createChart(this.field('chart'), {
      label: `${target.deviceId} · ${target.metric}`,
      stroke: this.spec.info.color,
      height: 170,
      onDraw: () => this.onDraw(),
    });
    // Callbacks of a replaced source are ignored: it may still deliver one in-flight answer.
    const source: Source = this.spec.create(target, {
      onPoints: (points, batch) => {
        if (this.source === source) this.onPoints(points, batch.backfill);
      },
      // The polls report 'open' with every answer: only a change is redrawn at once, the tick redraws the figures anyway.
      onStatus: (status, detail) => {
        if (this.source === source && (status !== this.status || detail !== this.detail)) this.setStatus(status, detail);
      },
    });
    this.source = source;
    source.start();
  }

  /** The tab went to the background: no frames are drawn there, so stop asking until it is back. */
  pause(): void {
    this.source?.stop();
    if (this.source) this.detail = 'paused while the tab is in the background';
  }

  /** Back in the foreground: the source backfills what was stored meanwhile, then continues. */
  resume(): void {
    this.source?.start();
  }

  /** Samples the counters for the rates and redraws the figures; called on a steady tick. Returns the figures drawn. */
  tick(): PanelFigures {
    this.model.sample(this.now(), this.counters());
    return this.render();
  }

  snapshot(): PanelSnapshot {
    return {
      status: this.status,
      detail: this.detail,
      points: this.model.buffer.size,
      seqs: this.model.buffer.seqs(),
      figures: this.figures(),
    };
  }

  figures(): PanelFigures {
    return this.model.figures(this.now(), this.counters());
  }

  private onPoints(points: SourcePoint[], backfill: boolean): void {
    const measured = this.model.accept(points, backfill);
    this.pending.push(...measured);
    // Bounded like the chart: a burst larger than the chart holds is not drawn point by point either.
    if (this.pending.length > this.model.limits.capacity) this.pending.splice(0, this.pending.length - this.model.limits.capacity);
    // One setData per frame however many batches arrive: drawing is what we measure, not queueing.
    if (this.frame === 0) this.frame = requestAnimationFrame(() => this.draw());
  }

  private draw(): void {
    this.frame = 0;
    this.drawing = this.pending;
    this.pending = [];
    this.chart?.setData(this.model.buffer.columns());
  }

  private onDraw(): void {
    if (this.drawing.length === 0) return;
    this.model.drawn(this.drawing, this.now());
    this.drawing = [];
  }

  private setStatus(status: SourceStatus, detail: string): void {
    this.status = status;
    this.detail = detail;
    this.render();
  }

  private counters() {
    return this.source?.counters ?? emptyCounters();
  }

  private render(): PanelFigures {
    const f = this.figures();
    const c = f.counters;
    this.root.dataset.status = this.status;
    this.root.dataset.points = String(this.model.buffer.size);
    const status = this.field('status');
    status.textContent = c.errors === 0 ? this.status : `${this.status} · ${c.errors} error${c.errors === 1 ? '' : 's'}`;
    status.title = this.detail;
    const set = (name: string, text: string) => (this.field(name).textContent = text);
    set('delay-p50', formatMs(f.delays.p50));
    set('delay-p95', formatMs(f.delays.p95));
    set('delay-max', formatMs(f.delays.max));
    set('staleness', formatMs(f.stalenessMs));
    set('updates', formatCount(c.points - c.backfilled, f.updatesPerSecond));
    set('updates-per-request', formatRatio(f.updatesPerRequest));
    set('requests', formatCount(c.requests, f.requestsPerSecond));
    set('empty', c.responses === 0 ? '—' : `${c.emptyResponses} · ${formatPercent(f.emptyShare)}`);
    set('bytes', formatBytes(c.bytes));
    this.field('bytes').title = f.bytesPerSecond === null ? '' : `${formatRate(f.bytesPerSecond)} over the last ${this.model.limits.rateWindowMs / 1000} s`;
    set('bytes-per-update', f.bytesPerUpdate === null ? '—' : formatBytes(f.bytesPerUpdate));
    return f;
  }

  private field(name: string): HTMLElement {
    const el = this.root.querySelector<HTMLElement>(`[data-field="${name}"]`);
    if (!el) throw new Error(`panel template lacks [data-field="${name}"]`);
    return el;
  }
}
