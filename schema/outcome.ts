/**
 * What the sweep records for every cell: the outcome of one (sweep, cell, repeat).
 *
 * Deterministic: imported by workflow code.
 */
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
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

/** Timing of one step of a cell, for the report's timeline. */
export interface StepTiming {
  step: string;
  /** ISO-8601 start, as the workflow saw it. */
  startedAt: string;
  durationMs: number;
  /** "done", "skipped: <why>" or "failed: <type>". */
  result: string;
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
  type: string;
  message: string;
  retryable: boolean;
  step: string;
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
