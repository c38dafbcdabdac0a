/**
 * Mapping between a CellRecord and its row in the `cells` table.
 *
 * Headline metrics are copied into real columns so SQL (and the sqlite3 shell) can filter and sort on them;
 * the full metric set, the steps, device, engine and harness facts are kept as JSON so that reading a row back
 * gives exactly the CellRecord that was recorded.
 */
import {
  CELL_STATUSES,
  type CellRecord,
  type CellStatus,
  type DeviceFacts,
  type EnergyStatus,
  type EngineFacts,
  type FailureInfo,
  type MovedFrom,
  type ThermalSummary,
  type Verdict,
  asFailureType,
  readStepTimings,
} from '../schema/outcome.js';
import type { BenchmarkMetrics } from '../schema/metrics.js';
import { DEFAULT_VALIDITY } from '../schema/experiment.js';
import { judgeCell } from '../schema/verdict.js';
import { isSweepState, type SweepRecord } from './sweep.js';

/** Metrics that get their own column, named as vLLM names them. */
export const HEADLINE_METRICS = [
  'output_throughput',
  'request_throughput',
  'mean_ttft_ms',
  'mean_tpot_ms',
  'mean_itl_ms',
  'p99_ttft_ms',
  'p99_tpot_ms',
  'total_token_throughput',
  'duration',
  'completed',
  'failed',
  'energy_j',
] as const satisfies readonly (keyof BenchmarkMetrics)[];
export type HeadlineMetric = (typeof HEADLINE_METRICS)[number];

/** Where a cell sits in the experiment's matrix, as columns of the store and of the CSV export (report/csv.ts). */
export interface CoordinateFields {
  power: string;
  clocks: string;
  model_id: string;
  quantization: string;
  model_size: string | null;
  scenario: string;
}

/** The `cells` row as SQLite stores it (booleans as 0/1, objects as JSON text). */
export interface CellRow extends Record<HeadlineMetric, number | null>, CoordinateFields {
  sweep_id: string;
  cell_id: string;
  repeat: number;
  experiment_name: string;
  status: string;
  failure_type: string | null;
  failure_message: string | null;
  failure_retryable: number | null;
  failure_step: string | null;
  position: number;
  metrics_json: string | null;
  steps_json: string;
  device_json: string | null;
  engine_json: string | null;
  harness_json: string | null;
  artifacts_dir: string | null;
  simulated: number;
  started_at: string;
  finished_at: string;
  /** NULL in rows recorded before schema version 2. */
  valid: number | null;
  verdict_json: string | null;
  energy_json: string | null;
  thermal_json: string | null;
  thorbench_version: string | null;
  /** JSON MovedFrom of a cell moved off a lost device; NULL otherwise and in rows recorded before schema version 5. */
  moved_from_json: string | null;
}

function json(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

function parse<T>(text: string | null, column: string, key: string): T | null {
  if (text === null) return null;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new Error(
      `results database: column ${column} of cell ${key} is not valid JSON (${(err as Error).message}); the row was written by something other than thorbench`,
      { cause: err },
    );
  }
}

function headline(metrics: BenchmarkMetrics | null, key: HeadlineMetric): number | null {
  const value = metrics?.[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** Rejects records that cannot be stored faithfully, naming the field to fix. */
export function validateCellRecord(record: CellRecord): void {
  const where = `cell record ${JSON.stringify(record.cellId)} of sweep ${JSON.stringify(record.sweepId)}`;
  if (typeof record.sweepId !== 'string' || record.sweepId === '')
    throw new Error(`${where}: sweepId must be a non-empty string`);
  if (typeof record.cellId !== 'string' || record.cellId === '')
    throw new Error(`${where}: cellId must be a non-empty string`);
  if (!Number.isInteger(record.repeat) || record.repeat < 1)
    throw new Error(`${where}: repeat must be an integer >= 1 (got ${String(record.repeat)})`);
  if (!Number.isInteger(record.position) || record.position < 0)
    throw new Error(`${where}: position must be an integer >= 0 (got ${String(record.position)})`);
  if (!(CELL_STATUSES as readonly string[]).includes(record.status))
    throw new Error(`${where}: status must be one of ${CELL_STATUSES.join(', ')} (got ${String(record.status)})`);
  if (record.clocks !== 'locked' && record.clocks !== 'default')
    throw new Error(`${where}: clocks must be "locked" or "default" (got ${String(record.clocks)})`);
  // A succeeded row without metrics would count as done (never benchmarked again) yet show nothing in reports.
  if (record.status === 'succeeded' && record.metrics === null)
    throw new Error(`${where}: a succeeded cell must carry its metrics; record it as failed with a reason instead`);
  const v = record.verdict as Verdict | undefined;
  if (!v || typeof v.valid !== 'boolean' || !Array.isArray(v.reasons)) {
    throw new Error(
      `${where}: verdict must be { valid: boolean, reasons: string[] }; judge the record first (schema/verdict.ts completeRecord)`,
    );
  }
}

export const COORDINATE_COLUMNS = [
  'power',
  'clocks',
  'model_id',
  'quantization',
  'model_size',
  'scenario',
] as const satisfies readonly (keyof CoordinateFields)[];

export function coordinateFields(c: CellRecord): CoordinateFields {
  return {
    power: c.power,
    clocks: c.clocks,
    model_id: c.modelId,
    quantization: c.quantization,
    model_size: c.modelSize,
    scenario: c.scenario,
  };
}

/** Why a cell did not succeed, as columns of the store and of the CSV export; all null for a cell that did. */
export const FAILURE_COLUMNS = ['failure_type', 'failure_message', 'failure_retryable', 'failure_step'] as const;

export function failureFields(c: CellRecord): {
  failure_type: string | null;
  failure_message: string | null;
  /** A boolean here: the store keeps it as 0/1, the CSV as true/false. */
  failure_retryable: boolean | null;
  failure_step: string | null;
} {
  return {
    failure_type: c.failure?.type ?? null,
    failure_message: c.failure?.message ?? null,
    failure_retryable: c.failure ? c.failure.retryable : null,
    failure_step: c.failure?.step ?? null,
  };
}

export function toCellRow(record: CellRecord): CellRow {
  const metrics = record.metrics;
  const failure = failureFields(record);
  return {
    sweep_id: record.sweepId,
    cell_id: record.cellId,
    repeat: record.repeat,
    experiment_name: record.experimentName,
    status: record.status,
    ...failure,
    failure_retryable: failure.failure_retryable === null ? null : failure.failure_retryable ? 1 : 0,
    position: record.position,
    ...coordinateFields(record),
    output_throughput: headline(metrics, 'output_throughput'),
    request_throughput: headline(metrics, 'request_throughput'),
    mean_ttft_ms: headline(metrics, 'mean_ttft_ms'),
    mean_tpot_ms: headline(metrics, 'mean_tpot_ms'),
    mean_itl_ms: headline(metrics, 'mean_itl_ms'),
    p99_ttft_ms: headline(metrics, 'p99_ttft_ms'),
    p99_tpot_ms: headline(metrics, 'p99_tpot_ms'),
    total_token_throughput: headline(metrics, 'total_token_throughput'),
    duration: headline(metrics, 'duration'),
    completed: headline(metrics, 'completed'),
    failed: headline(metrics, 'failed'),
    energy_j: headline(metrics, 'energy_j'),
    metrics_json: json(metrics),
    steps_json: JSON.stringify(record.steps),
    device_json: json(record.device),
    engine_json: json(record.engine),
    harness_json: json(record.harness),
    artifacts_dir: record.artifactsDir,
    simulated: record.simulated ? 1 : 0,
    started_at: record.startedAt,
    finished_at: record.finishedAt,
    valid: record.verdict.valid ? 1 : 0,
    verdict_json: JSON.stringify(record.verdict),
    energy_json: json(record.energy),
    thermal_json: json(record.thermal),
    thorbench_version: record.thorbenchVersion,
    moved_from_json: json(record.movedFrom),
  };
}

export function fromCellRow(row: CellRow): CellRecord {
  const key = `${row.sweep_id}/${row.cell_id}#${row.repeat}`;
  const base = {
    sweepId: row.sweep_id,
    experimentName: row.experiment_name,
    cellId: row.cell_id,
    repeat: row.repeat,
    position: row.position,
    power: row.power,
    clocks: row.clocks as CellRecord['clocks'],
    modelId: row.model_id,
    quantization: row.quantization,
    modelSize: row.model_size,
    scenario: row.scenario,
    status: row.status as CellStatus,
    failure:
      row.failure_type === null
        ? null
        : {
            type: asFailureType(row.failure_type),
            message: row.failure_message ?? '',
            retryable: row.failure_retryable === 1,
            step: (row.failure_step ?? 'plan') as FailureInfo['step'],
          },
    metrics: parse<BenchmarkMetrics>(row.metrics_json, 'metrics_json', key),
    harness: parse<{ kind: string; command: string[] }>(row.harness_json, 'harness_json', key),
    device: parse<DeviceFacts>(row.device_json, 'device_json', key),
    engine: parse<EngineFacts>(row.engine_json, 'engine_json', key),
    steps: readStepTimings(parse<unknown>(row.steps_json, 'steps_json', key)),
    artifactsDir: row.artifacts_dir,
    simulated: row.simulated === 1,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    ...(row.moved_from_json === null
      ? {}
      : { movedFrom: parse<MovedFrom>(row.moved_from_json, 'moved_from_json', key) }),
  };
  const verdict = parse<Verdict>(row.verdict_json, 'verdict_json', key);
  if (verdict === null) {
    // Recorded before verdicts were kept: judged now by the default rules, on the evidence the row has.
    const verdict = judgeCell(base, DEFAULT_VALIDITY);
    return { ...base, energy: null, thermal: null, verdict, thorbenchVersion: row.thorbench_version };
  }
  return {
    ...base,
    energy: parse<EnergyStatus>(row.energy_json, 'energy_json', key),
    thermal: parse<ThermalSummary>(row.thermal_json, 'thermal_json', key),
    verdict,
    thorbenchVersion: row.thorbench_version,
  };
}

/** The `sweeps` row (booleans as 0/1). */
export interface SweepRow {
  sweep_id: string;
  experiment_name: string;
  experiment_json: string;
  workflow_id: string | null;
  simulated: number;
  started_at: string;
  finished_at: string | null;
  state: string;
  planned_cells: number;
}

export function fromSweepRow(row: SweepRow): SweepRecord {
  if (!isSweepState(row.state))
    throw new Error(`results database: sweep ${row.sweep_id} has unknown state "${row.state}"`);
  return {
    sweepId: row.sweep_id,
    experimentName: row.experiment_name,
    experimentJson: row.experiment_json,
    workflowId: row.workflow_id,
    simulated: row.simulated === 1,
    plannedCells: row.planned_cells,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    state: row.state,
  };
}

/** Columns of a `cells` row as toCellRow fills them (recorded_at and attempts are the store's). */
export const CELL_COLUMNS = [
  'sweep_id',
  'cell_id',
  'repeat',
  'experiment_name',
  'status',
  ...FAILURE_COLUMNS,
  'position',
  ...COORDINATE_COLUMNS,
  ...HEADLINE_METRICS,
  'metrics_json',
  'steps_json',
  'device_json',
  'engine_json',
  'harness_json',
  'artifacts_dir',
  'simulated',
  'started_at',
  'finished_at',
  'valid',
  'verdict_json',
  'energy_json',
  'thermal_json',
  'thorbench_version',
  'moved_from_json',
] as const;
export const CONTENT_COLUMNS = CELL_COLUMNS.filter((c) => c !== 'sweep_id' && c !== 'cell_id' && c !== 'repeat');
