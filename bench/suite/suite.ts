// The run order: for each scenario, each variant, each repeat, the gateway
// then Mosquitto, each freshly started for that one run and stopped after
// it. A failed run is recorded and the suite goes on.
import { findExecutable } from '../../test/helpers/tools.js';
import { startInfluxd } from '../../test/helpers/influxd.js';
import { variantKey, type VariantInfo } from './figures.js';
import { startGateway } from './gateway.js';
import { evaluateGoals, type GoalResult } from './goals.js';
import { probeMosquitto, startMosquitto, type MosquittoInfo } from './mosquitto.js';
import type { ScenarioId, SuiteOptions } from './options.js';
import type { Reaper } from './processes.js';
import { RegistryCache } from './registry-cache.js';
import { buildRows, formatCpu, formatNumber, type Row, type Sample } from './report.js';
import { hold, idle } from './scenarios/connections.js';
import { fanIn } from './scenarios/fan-in.js';
import { fanOut } from './scenarios/fan-out.js';
import { fixedRate } from './scenarios/fixed-rate.js';
import { ingest } from './scenarios/ingest.js';
import type { Scenario, SuiteServices, Target, TargetKind, Variant } from './scenarios/scenario.js';

const SCENARIOS: Record<ScenarioId, Scenario> = {
  'fan-in': fanIn,
  'fixed-rate': fixedRate,
  'fan-out': fanOut,
  idle,
  hold,
  ingest,
};

export interface SuiteOutcome {
  mosquitto: MosquittoInfo | null;
  notes: string[];
  samples: Sample[];
  rows: Row[];
  goals: GoalResult[];
}

function info(v: Variant): VariantInfo {
  return { scenario: v.scenario, label: v.label, transport: v.transport, figures: v.figures };
}

function influxServices(reaper: Reaper): SuiteServices {
  let url: Promise<string> | null = null;
  return {
    hasInflux: findExecutable('influxd') !== null,
    influx: () => {
      url ??= startInfluxd().then((influxd) => {
        reaper.onClose(() => influxd.dispose());
        return influxd.url;
      });
      return url;
    },
  };
}

export async function runSuite(o: SuiteOptions, reaper: Reaper, log: (line: string) => void, signal?: AbortSignal): Promise<SuiteOutcome> {
  const notes: string[] = [];
  const mosquitto = o.mosquitto === null ? null : await probeMosquitto(reaper, o.mosquitto);
  if (o.mosquitto === null) notes.push('--mosquitto off: the gateway alone, no ratios.');
  else if (!mosquitto) notes.push(`no Mosquitto at ${o.mosquitto} (apt-get install mosquitto): the gateway alone, no ratios.`);
  else if (!mosquitto.websockets) notes.push(`Mosquitto ${mosquitto.version} has no websockets listener in this build: WebSocket rows are the gateway alone.`);
  const services = influxServices(reaper);
  if (o.only.includes('ingest') && !services.hasInflux) notes.push('no influxd (apt-get install influxdb): the InfluxDB ingest rows are skipped.');
  if (o.only.includes('hold') && !o.transports.includes('tcp')) notes.push('hold runs over TCP only, and --transport ws leaves it out.');
  for (const note of notes) log(`note: ${note}`);

  const variants = o.only.flatMap((id) => SCENARIOS[id].variants(o, services));
  const samples: Sample[] = [];
  const gatewayDeps = { reaper, registry: new RegistryCache(reaper), log };
  /** Interrupted: main.ts has stopped waiting and cleans up; nothing more is started or reported. */
  const stopped = (): SuiteOutcome => ({ mosquitto, notes, samples, rows: [], goals: [] });
  const start = async (kind: TargetKind, variant: Variant): Promise<Target> =>
    kind === 'gateway' ? startGateway(gatewayDeps, (await variant.gatewayEnv?.()) ?? {}) : startMosquitto(reaper, mosquitto!);

  for (const variant of variants) {
    const targets = variant.targets.filter((t) => t === 'gateway' || (mosquitto !== null && (variant.transport === 'tcp' || mosquitto.websockets)));
    for (let repeat = 1; repeat <= o.repeat; repeat++) {
      for (const kind of targets) {
        if (signal?.aborted) return stopped();
        const name = `${variantKey(variant)} ${kind} (${repeat}/${o.repeat})`;
        log(`${name}: starting`);
        const sample: Sample = { variant: info(variant), target: kind, repeat, result: null, error: null };
        let target: Target | null = null;
        try {
          target = await start(kind, variant);
          sample.result = await variant.run({ target, options: o, reaper, log });
          const first = variant.figures[0]!;
          log(`${name}: ${first.name} ${formatNumber(sample.result.figures[first.name] ?? null, first.digits)}; CPU % ${formatCpu(sample.result.cpu)}`);
        } catch (err) {
          if (signal?.aborted) return stopped();
          sample.error = err instanceof Error ? err.message : String(err);
          log(`${name}: FAILED: ${sample.error}`);
        } finally {
          await target?.stop();
        }
        samples.push(sample);
      }
    }
  }
  const rows = buildRows(variants.map(info), samples);
  return { mosquitto, notes, samples, rows, goals: evaluateGoals(rows) };
}
