// What a scenario is to the orchestrator: variants (one per transport and
// kind), each run once per target and repeat against a freshly started
// broker; and what a scenario needs from that broker, whichever it is.
import type { RunResult, VariantInfo } from '../figures.js';
import type { ScenarioId, SuiteOptions } from '../options.js';
import type { Reaper } from '../processes.js';
import type { Account, Transport } from '../loadgen/protocol.js';

export type TargetKind = 'gateway' | 'mosquitto';

export interface Target {
  kind: TargetKind;
  /** The broker's process, for CPU and RSS from /proc. */
  pid: number;
  url(transport: Transport): string;
  /** Logins for these devices: registered through the admin API on the gateway, anonymous on Mosquitto. */
  devices(ids: readonly string[]): Promise<Account[]>;
  /** Logins that may subscribe to any device's telemetry: viewer tokens on the gateway. */
  watchers(count: number): Promise<Account[]>;
  /** Readings stored so far; null for a broker that stores nothing. */
  stored(): Promise<number | null>;
  /** A full garbage collection in the broker (none for Mosquitto, which has no collector). */
  collectGarbage(): Promise<void>;
  stop(): Promise<void>;
}

export interface RunContext {
  target: Target;
  options: SuiteOptions;
  reaper: Reaper;
  log: (line: string) => void;
}

export interface Variant extends VariantInfo {
  /** Targets this variant compares (ingest: the gateway alone, Mosquitto stores nothing). */
  targets: readonly TargetKind[];
  /** Extra gateway settings for this variant (the InfluxDB store), resolved just before the gateway starts. */
  gatewayEnv?: () => Promise<Record<string, string>>;
  run(ctx: RunContext): Promise<RunResult>;
}

/** Services a variant may need that outlive one run (influxd). */
export interface SuiteServices {
  /** influxd is installed. */
  hasInflux: boolean;
  /** The URL of one influxd for the whole suite, started on first use. */
  influx(): Promise<string>;
}

export interface Scenario {
  id: ScenarioId;
  variants(options: SuiteOptions, services: SuiteServices): Variant[];
}

export const BOTH: readonly TargetKind[] = ['gateway', 'mosquitto'];

/**
 * Load processes per side where one would saturate: this machine has two
 * cores, so two publishing processes can keep both busy; a third only shares them.
 */
export const LOAD_PROCESSES = 2;

/** Between scheduling a window and its start: every load process has its 'run' request by then. */
export const START_DELAY_MS = 300;
