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
  | { kind: 'done' }
  | { kind: 'skipped'; reason: string }
  | { kind: 'failed'; failure: FailureType };

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
}

export interface FailureInfo {
  type: FailureType;
  message: string;
  retryable: boolean;
  /** The step that failed; "plan" for a cell the sweep never ran (skipped or cancelled). */
  step: StepName | 'plan';
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
}
