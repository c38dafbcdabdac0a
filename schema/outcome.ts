/**
 * What the sweep records for every cell: the outcome of one (sweep, cell, repeat).
 *
 * Deterministic: imported by workflow code.
 */
import type { StepName } from './experiment.js';
import type { BenchmarkMetrics } from './metrics.js';

export const CELL_STATUSES = ['succeeded', 'failed', 'skipped', 'cancelled'] as const;
export type CellStatus = (typeof CELL_STATUSES)[number];

/** Typed reasons a cell fails with; also the ApplicationFailure `type` the activities throw. */
export const FailureType = {
  InvalidExperiment: 'InvalidExperiment',
  ModelNotFound: 'ModelNotFound',
  EngineCrashed: 'EngineCrashed',
  EngineOOMKilled: 'EngineOOMKilled',
  HealthTimeout: 'HealthTimeout',
  BenchmarkFailed: 'BenchmarkFailed',
  PowerModeUnavailable: 'PowerModeUnavailable',
  RebootRequired: 'RebootRequired',
  PrivilegeDenied: 'PrivilegeDenied',
  CommandFailed: 'CommandFailed',
  StepTimeout: 'StepTimeout',
  Cancelled: 'Cancelled',
  /** Not run: an earlier cell of the same engine group (power mode and model) found the engine broken. */
  EngineFailed: 'EngineFailed',
  /**
   * The device's worker did not pick up a step within `device.failoverAfterMs` (it died, or lost its network): the
   * sweep moves the device's unfinished engine groups to the remaining devices.
   */
  DeviceLost: 'DeviceLost',
  /** An error no activity classified (a bug, or a condition thorbench does not know yet); its message says which. */
  Unexpected: 'Unexpected',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

const FAILURE_TYPES = new Set<string>(Object.values(FailureType));

export function isFailureType(type: unknown): type is FailureType {
  return typeof type === 'string' && FAILURE_TYPES.has(type);
}

/** A failure type read from outside (a stored record, an ApplicationFailure): unknown names become `Unexpected`. */
export function asFailureType(type: unknown): FailureType {
  return isFailureType(type) ? type : FailureType.Unexpected;
}

/** The failure types that mean the engine itself is broken: the rest of its group would fail alike. */
export const ENGINE_FAILURE_TYPES: ReadonlySet<FailureType> = new Set<FailureType>([
  FailureType.EngineCrashed,
  FailureType.EngineOOMKilled,
  FailureType.HealthTimeout,
  FailureType.ModelNotFound,
]);

/** What became of one step of a cell. */
export type StepResult =
  { kind: 'done' } | { kind: 'skipped'; reason: string } | { kind: 'failed'; failure: FailureType };

/** A step result as a reader sees it: `done`, `skipped: <why>`, `failed: <type>`. */
export function stepResultLabel(result: StepResult): string {
  if (result.kind === 'skipped') return `skipped: ${result.reason}`;
  if (result.kind === 'failed') return `failed: ${result.failure}`;
  return 'done';
}

/** Timing of one step of a cell, for the report's timeline. */
export interface StepTiming {
  step: StepName;
  /** ISO-8601 start, as the workflow saw it. */
  startedAt: string;
  durationMs: number;
  result: StepResult;
}

/**
 * Steps as stored, including records written before results were structured (`"done"`, `"skipped: <why>"`,
 * `"failed: <type>"`): the one place those strings are read.
 */
export function readStepTimings(raw: unknown): StepTiming[] {
  if (!Array.isArray(raw)) return [];
  return raw.map((s: { step: StepName; startedAt: string; durationMs: number; result: StepResult | string }) => ({
    step: s.step,
    startedAt: s.startedAt,
    durationMs: s.durationMs,
    result: typeof s.result === 'string' ? legacyStepResult(s.result) : s.result,
  }));
}

function legacyStepResult(text: string): StepResult {
  const [head = '', ...rest] = text.split(': ');
  const detail = rest.join(': ');
  if (head === 'skipped') return { kind: 'skipped', reason: detail };
  if (head === 'failed') return { kind: 'failed', failure: asFailureType(detail) };
  return { kind: 'done' };
}

/** Facts about the device a cell ran on. */
export interface DeviceFacts {
  deviceId: string;
  simulated: boolean;
  model: string;
  l4tRelease: string | null;
  bootId: string;
  powerModeName: string;
  powerModeId: number;
  clocksLocked: boolean;
  /**
   * The power mode `nvpmodel -q` reported right after the benchmark: null when it could not be read back; absent in
   * records made before it was read back.
   */
  powerModeAfter?: PowerModeReadBack | null;
  /** The clocks `jetson_clocks --show` reported right after the benchmark; null/absent as for powerModeAfter. */
  clocksAfter?: ClocksReadBack | null;
}

export interface PowerModeReadBack {
  name: string;
  id: number;
}

/** Clocks read back from `jetson_clocks --show` (parsers/thor/jetson-clocks.ts), in MHz. */
export interface ClocksReadBack {
  /** jtop's heuristic: every online CPU, the GPU's GPC domain and the EMC pinned at their maximum. */
  locked: boolean;
  /** Current frequency of the GPU's GPC domain (gpu-gpc-0 on Thor), and its maximum. */
  gpuMhz: number | null;
  gpuMaxMhz: number | null;
  /** Current external memory clock and its maximum. */
  emcMhz: number | null;
  emcMaxMhz: number | null;
  /** Current frequency of each online CPU, in CPU order. */
  cpuMhz: number[];
}

/** What the device said right after the benchmark (activities/device.ts readBackDevice). */
export interface DeviceReadBack {
  powerMode: PowerModeReadBack | null;
  clocks: ClocksReadBack | null;
  /** Why a part could not be read, e.g. "jetson_clocks --show: sudo: a password is required". */
  problems: string[];
}

/** Engine details recorded with a cell. */
export interface EngineFacts {
  image: string;
  containerName: string;
  /** The exact argv the engine was started with. */
  command: string[];
  /** Exit status when the engine died; null while running. */
  exitCode: number | null;
  oomKilled: boolean;
  /** Last lines of the engine log when the cell failed. */
  logTail: string | null;
  /** What the engine's `/version` answered (e.g. 0.10.1.1+381074ae); absent in records made before it was kept. */
  version?: string | null;
  /**
   * The image that ran, from `docker image inspect`: its registry digest (`nvcr.io/nvidia/vllm@sha256:…`) when the
   * image came from a registry, else its local id (`sha256:…`); null when docker could not say.
   */
  imageDigest?: string | null;
  /** true when the engine was started for this cell, false when a running one was adopted (it ran cells before). */
  startedForCell?: boolean;
}

/** A record's validity (MLPerf LoadGen's VALID/INVALID): every rule of schema/verdict.ts it broke, in words. */
export interface Verdict {
  valid: boolean;
  reasons: string[];
}

/**
 * Whether energy was measured over the benchmark window, and if not, why: an absent figure must say so, never
 * just be missing.
 */
export type EnergyStatus =
  | { status: 'measured'; rail: string; samples: number; coveredS: number; windowS: number }
  | { status: 'unavailable'; reason: string };

/** Temperatures and GPU clocks tegrastats reported during the benchmark window. */
export interface ThermalSummary {
  /** tegrastats lines in the window. */
  samples: number;
  /** Hottest reading of any sensor (°C) and its sensor name; null without temperatures. */
  maxTempC: number | null;
  maxTempSensor: string | null;
  /** Lowest and highest GPU (GR3D/GPC) clock inside the window, MHz (0 = gated, skipped); null when none. */
  gpuMhzMin: number | null;
  gpuMhzMax: number | null;
}

export interface FailureInfo {
  type: FailureType;
  message: string;
  retryable: boolean;
  /** The step that failed; "plan" for a cell the sweep never ran (skipped or cancelled). */
  step: StepName | 'plan';
}

/** A cell the sweep moved off a lost device (docs/architecture.md, "Failover"): the device it left, why, when. */
export interface MovedFrom {
  deviceId: string;
  /** e.g. "no worker picked up benchmark within 5 s (DeviceLost)". */
  reason: string;
  /** ISO-8601 time the sweep moved it. */
  at: string;
}

export interface CellRecord {
  sweepId: string;
  experimentName: string;
  cellId: string;
  repeat: number;
  /** Position in the plan (0-based), so a report can show the real order. */
  position: number;
  power: string;
  clocks: 'locked' | 'default';
  modelId: string;
  quantization: string;
  modelSize: string | null;
  scenario: string;
  status: CellStatus;
  failure: FailureInfo | null;
  metrics: BenchmarkMetrics | null;
  /** The harness that produced the metrics and the exact command or parameters it ran. */
  harness: { kind: string; command: string[] } | null;
  device: DeviceFacts | null;
  engine: EngineFacts | null;
  steps: StepTiming[];
  /** Where raw artifacts of the cell live (results/<sweep>/<cell>/). */
  artifactsDir: string | null;
  simulated: boolean;
  startedAt: string;
  finishedAt: string;
  /** Energy over the benchmark window, or why there is none; null for a cell that never benchmarked. */
  energy: EnergyStatus | null;
  /** Thermal and GPU-clock telemetry of the benchmark window; null for a cell that never benchmarked. */
  thermal: ThermalSummary | null;
  /** Whether the numbers can be trusted (schema/verdict.ts); set where the record is stored. */
  verdict: Verdict;
  /** package.json version of the thorbench that recorded the cell; null in records made before it was kept. */
  thorbenchVersion: string | null;
  /** Set when the cell was moved off a lost device (the last device it left); absent or null otherwise. */
  movedFrom?: MovedFrom | null;
}
