/**
 * The object `thorbench status --json` prints: the sweep's state and one entry per cell, planned cells that have
 * not been recorded yet included as `pending`. Metric keys are vLLM's. Pure.
 */
import type { BenchmarkMetrics } from '../schema/metrics.js';
import type { CellRecord, CellStatus, FailureInfo, Verdict } from '../schema/outcome.js';
import type { PlannedCell } from '../plan/plan.js';
import { buildReportModel, countCells, type ExperimentView, type ReportInput, type StatusCounts } from './model.js';
import type { SweepState } from '../store/sweep.js';

/** A planned cell as the status view needs it: the plan's own PlannedCell fits, and so does a bare cell id. */
export type PlannedCellRef =
  | string
  | (Pick<PlannedCell, 'id' | 'position' | 'powerKey' | 'clocks' | 'repeat'> & {
      model: { id: string; quantization: string };
      scenario: { name: string };
    });

export interface StatusCell {
  id: string;
  repeat: number;
  status: CellStatus | 'pending';
  position: number;
  power: string | null;
  clocks: 'locked' | 'default' | null;
  model: string | null;
  quantization: string | null;
  scenario: string | null;
  failure: FailureInfo | null;
  metrics: BenchmarkMetrics | null;
  /** The record's validity verdict; null while pending. */
  verdict: Verdict | null;
}

export interface StatusJson {
  sweepId: string;
  experiment: string;
  state: SweepState;
  simulated: boolean;
  counts: StatusCounts;
  cells: StatusCell[];
}

export interface StatusInput extends ReportInput {
  /** The plan's cells (or their ids, in plan order); those not yet recorded are listed as pending. */
  planned?: readonly PlannedCellRef[];
}

function fromRecord(c: CellRecord): StatusCell {
  return {
    id: c.cellId,
    repeat: c.repeat,
    status: c.status,
    position: c.position,
    power: c.power,
    clocks: c.clocks,
    model: c.modelId,
    quantization: c.quantization,
    scenario: c.scenario,
    failure: c.failure,
    metrics: c.metrics,
    verdict: c.verdict,
  };
}

/**
 * A pending cell from a bare id `<power>.<clocks>.<model>.<scenario>.r<repeat>`. Model ids and scenario names may
 * contain dots, so they are matched against the experiment's own lists rather than split.
 */
function fromId(id: string, position: number, view: ExperimentView): StatusCell {
  const cell: StatusCell = {
    id,
    repeat: 1,
    status: 'pending',
    position,
    power: null,
    clocks: null,
    model: null,
    quantization: null,
    scenario: null,
    failure: null,
    metrics: null,
    verdict: null,
  };
  const m = /^([^.]+)\.(locked|default)\.(.+)\.r(\d+)$/.exec(id);
  if (!m) return cell;
  cell.power = m[1] ?? null;
  cell.clocks = m[2] as 'locked' | 'default';
  cell.repeat = Number(m[4]);
  const rest = m[3] ?? '';
  for (const model of view.modelOrder) {
    for (const scenario of view.scenarioOrder) {
      if (rest === `${model}.${scenario}`) {
        cell.model = model;
        cell.quantization = view.models.get(model)?.quantization ?? null;
        cell.scenario = scenario;
      }
    }
  }
  return cell;
}

function fromPlanned(ref: PlannedCellRef, index: number, view: ExperimentView): StatusCell {
  if (typeof ref === 'string') return fromId(ref, index, view);
  return {
    id: ref.id,
    repeat: ref.repeat,
    status: 'pending',
    position: ref.position,
    power: ref.powerKey,
    clocks: ref.clocks,
    model: ref.model.id,
    quantization: ref.model.quantization,
    scenario: ref.scenario.name,
    failure: null,
    metrics: null,
    verdict: null,
  };
}

export function renderJsonStatus(input: StatusInput): StatusJson {
  const model = buildReportModel(input);
  const recorded = new Set(model.cells.map((c) => c.cellId));
  const pending = (input.planned ?? [])
    .map((ref, i) => fromPlanned(ref, i, model.view))
    .filter((p) => !recorded.has(p.id));
  const cells = [...model.cells.map(fromRecord), ...pending].sort(
    (a, b) => a.position - b.position || a.repeat - b.repeat,
  );
  const planned = input.planned
    ? new Set([...input.planned.map((r) => (typeof r === 'string' ? r : r.id)), ...recorded]).size
    : input.sweep.plannedCells;
  return {
    sweepId: model.sweep.sweepId,
    experiment: model.sweep.experimentName,
    state: model.sweep.state,
    simulated: model.simulated,
    counts: countCells(model.cells, planned),
    cells,
  };
}
