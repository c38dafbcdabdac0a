/**
 * The report's view of a sweep: cells grouped into table rows (one row per matrix point, repeats folded into a
 * mean and a spread), the dimensions the sweep varies, the counts and the readable labels the guide uses
 * ("Qwen3-8B-FP8", "GPTQ(Int4)", "8.9 G", "MAXN"). Every renderer (Markdown, HTML, status JSON) builds on this,
 * so they never disagree. Pure.
 */
import { ci95HalfWidth } from '../metrics/repeats.js';
import { powerKey } from '../schema/experiment.js';
import type { BenchmarkMetrics } from '../schema/metrics.js';
import {
  CELL_STATUSES,
  type CellRecord,
  type CellStatus,
  type DeviceFacts,
  type EngineFacts,
} from '../schema/outcome.js';
import type { SweepRecord } from '../store/sweep.js';
import { type CapacityDetail, sweepCapacities } from './capacity.js';
import type { SamplesByCell } from './charts.js';
import type { RegressionComparison } from './regression.js';

/** What every report renderer takes. */
export interface ReportInput {
  sweep: SweepRecord;
  cells: readonly CellRecord[];
  /** Per-request latencies of cells whose artifact was read (the latency distributions use them when present). */
  samples?: SamplesByCell;
  /** The sweep's comparison with its baseline, when it ran with one (a schedule's regression watch). */
  regression?: RegressionComparison | null;
}

export interface ScenarioInfo {
  name: string;
  inputLen: number | null;
  outputLen: number | null;
  numPrompts: number | null;
  maxConcurrency: number | null;
  requestRate: number | null;
}

interface ModelInfo {
  path: string | null;
  size: string | null;
  quantization: string | null;
}

/** The parts of the stored experiment a report shows; read leniently so an older or newer file still renders. */
export interface ExperimentView {
  description: string | null;
  models: Map<string, ModelInfo>;
  modelOrder: string[];
  powerLabels: Map<string, string>;
  powerOrder: string[];
  clocks: string[];
  scenarios: Map<string, ScenarioInfo>;
  scenarioOrder: string[];
  repeats: number | null;
  /** Scenarios that search a capacity: their probe cells are shown in the capacity tables, not as result rows. */
  searchScenarios: string[];
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

export function readExperimentView(experimentJson: string): ExperimentView {
  const view: ExperimentView = {
    description: null,
    models: new Map(),
    modelOrder: [],
    powerLabels: new Map(),
    powerOrder: [],
    clocks: [],
    scenarios: new Map(),
    scenarioOrder: [],
    repeats: null,
    searchScenarios: [],
  };
  let exp: unknown;
  try {
    exp = JSON.parse(experimentJson);
  } catch {
    return view;
  }
  if (!isObj(exp)) return view;
  view.description = str(exp.description);
  view.repeats = num(exp.repeats);
  const matrix = isObj(exp.matrix) ? exp.matrix : {};
  for (const m of arr(matrix.model)) {
    const id = isObj(m) ? str(m.id) : null;
    if (!isObj(m) || id === null) continue;
    view.models.set(id, { path: str(m.path), size: str(m.size), quantization: str(m.quantization) });
    view.modelOrder.push(id);
  }
  for (const p of arr(matrix.power)) {
    if (!isObj(p)) continue;
    const mode = str(p.mode) ?? undefined;
    const id = num(p.id) ?? undefined;
    if (mode === undefined && id === undefined) continue;
    const key = powerKey({ mode, id });
    view.powerLabels.set(key, mode ?? `mode ${id}`);
    view.powerOrder.push(key);
  }
  view.clocks = arr(matrix.clocks).filter((c): c is string => typeof c === 'string');
  for (const s of arr(matrix.scenario)) {
    const name = isObj(s) ? str(s.name) : null;
    if (!isObj(s) || name === null) continue;
    view.scenarios.set(name, {
      name,
      inputLen: num(s.inputLen),
      outputLen: num(s.outputLen),
      numPrompts: num(s.numPrompts),
      maxConcurrency: num(s.maxConcurrency),
      requestRate: num(s.requestRate),
    });
    view.scenarioOrder.push(name);
    if (isObj(s.search)) view.searchScenarios.push(name);
  }
  return view;
}

/**
 * The name the guide gives a model: the model's directory, e.g. "Qwen3-8B-FP8" for `Qwen/Qwen3-8B-FP8`. A path
 * that ends in a single weights file (`Qwen/Qwen3-8B-GGUF/Qwen3-8B-Q5_K_M.gguf`) is named after its directory.
 */
export function modelDisplayName(modelId: string, modelPath: string | null): string {
  if (!modelPath) return modelId;
  const parts = modelPath.split('/').filter((p) => p !== '');
  const last = parts.at(-1);
  if (last === undefined) return modelId;
  const isFile = /\.(gguf|safetensors|bin|pt|pth)$/i.test(last);
  return isFile && parts.length > 1 ? (parts.at(-2) ?? last) : last;
}

const QUANTIZATION_LABELS: Record<string, string> = {
  bf16: 'BF16',
  fp16: 'FP16',
  fp8: 'FP8',
  fp4: 'FP4',
  'gptq-int4': 'GPTQ(Int4)',
  'gptq-int8': 'GPTQ(Int8)',
  // vLLM's AWQ kernels are 4-bit only.
  awq: 'AWQ(Int4)',
  w4a16: 'W4A16',
  w8a16: 'W8A16',
  gguf: 'GGUF',
};

/** The guide's spelling of a quantization; GGUF gets its quant type from the file name (`...-Q5_K_M.gguf`). */
export function quantizationLabel(quantization: string, modelPath: string | null): string {
  const base = QUANTIZATION_LABELS[quantization] ?? quantization.toUpperCase();
  if (quantization === 'gguf' && modelPath) {
    const m = /[-_.]((?:IQ|Q|F|BF)\d[A-Za-z0-9_]*)\.gguf$/i.exec(modelPath);
    if (m?.[1]) return `${base}(${m[1].toUpperCase()})`;
  }
  return base;
}

/** "8.9G" → "8.9 G" (the guide's spelling); unrecognised sizes are shown as written. */
export function sizeLabel(size: string | null): string {
  if (!size) return '—';
  const m = /^([0-9.]+) ?([KMGT])?(?:i?B)?$/i.exec(size.trim());
  if (!m) return size;
  return m[2] ? `${m[1]} ${m[2].toUpperCase()}` : (m[1] ?? size);
}

export interface Stat {
  mean: number;
  min: number;
  max: number;
  n: number;
  /** Half-width of the 95 % confidence interval of the mean (Student's t, n − 1 df); null when n < 2. */
  ci95HalfWidth: number | null;
}

export function stat(values: readonly number[]): Stat | null {
  if (values.length === 0) return null;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    sum += v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  return { mean: sum / values.length, min, max, n: values.length, ci95HalfWidth: ci95HalfWidth(values) };
}

/** One table row: a matrix point (power, clocks, model, scenario) and all its repeats. */
export interface RowGroup {
  key: string;
  power: string;
  powerLabel: string;
  clocks: 'locked' | 'default';
  modelId: string;
  modelName: string;
  quantLabel: string;
  sizeLabel: string;
  scenario: string;
  /** Every recorded repeat, in plan order. */
  cells: CellRecord[];
  succeeded: CellRecord[];
  firstPosition: number;
}

/** Mean/min/max of a metric over the row's succeeded repeats; null when none has it. */
export function metricStat(group: RowGroup, key: keyof BenchmarkMetrics): Stat | null {
  const values: number[] = [];
  for (const c of group.succeeded) {
    const v = c.metrics?.[key];
    if (typeof v === 'number' && Number.isFinite(v)) values.push(v);
  }
  return stat(values);
}

export interface Dimensions {
  power: boolean;
  clocks: boolean;
  model: boolean;
  /** Some matrix point has more than one repeat. */
  repeats: boolean;
}

export interface ScenarioSection {
  scenario: string;
  info: ScenarioInfo | null;
  rows: RowGroup[];
}

export type StatusCounts = Record<CellStatus, number> & { planned: number; recorded: number; pending: number };

export interface ReportModel {
  sweep: SweepRecord;
  view: ExperimentView;
  /** All cells, in plan order. */
  cells: CellRecord[];
  dims: Dimensions;
  sections: ScenarioSection[];
  counts: StatusCounts;
  simulated: boolean;
  devices: DeviceFacts[];
  engineImages: string[];
  /** The capacity of each configuration under each search scenario (report/capacity.ts). */
  capacities: CapacityDetail[];
}

export function byPlanOrder(a: CellRecord, b: CellRecord): number {
  return a.position - b.position || a.repeat - b.repeat || (a.cellId < b.cellId ? -1 : a.cellId > b.cellId ? 1 : 0);
}

/** Counts per status; `planned` comes from the sweep (or from the caller's list of planned ids). */
export function countCells(cells: readonly CellRecord[], planned: number): StatusCounts {
  const counts = Object.fromEntries(CELL_STATUSES.map((s) => [s, 0])) as Record<CellStatus, number>;
  for (const c of cells) counts[c.status]++;
  const recorded = cells.length;
  return { ...counts, planned: Math.max(planned, recorded), recorded, pending: Math.max(0, planned - recorded) };
}

function distinctCount(fromMatrix: readonly string[], fromCells: Iterable<string>): number {
  return new Set([...fromMatrix, ...fromCells]).size;
}

function engineLabel(e: EngineFacts): string {
  const details = [...(e.version ? [`vLLM ${e.version}`] : []), ...(e.imageDigest ? [e.imageDigest] : [])];
  return details.length > 0 ? `${e.image} (${details.join(', ')})` : e.image;
}

/**
 * Table rows in the experiment's own order: power mode, then model, then clocks (default before locked), as the
 * matrix is written, whatever order the plan ran them in (plan/plan.ts keeps an engine across the power modes of a
 * reboot epoch, so one model's cells alternate between modes). Points the experiment does not list come after, in
 * plan order.
 */
function inMatrixOrder(view: ExperimentView): (a: RowGroup, b: RowGroup) => number {
  const rank = (order: readonly string[], value: string) => {
    const i = order.indexOf(value);
    return i < 0 ? order.length : i;
  };
  const clocksOrder = ['default', 'locked'];
  return (a, b) =>
    rank(view.powerOrder, a.power) - rank(view.powerOrder, b.power) ||
    rank(view.modelOrder, a.modelId) - rank(view.modelOrder, b.modelId) ||
    rank(clocksOrder, a.clocks) - rank(clocksOrder, b.clocks) ||
    a.firstPosition - b.firstPosition;
}

export function buildReportModel(input: ReportInput): ReportModel {
  const view = readExperimentView(input.sweep.experimentJson);
  const cells = [...input.cells].sort(byPlanOrder);

  const groups = new Map<string, RowGroup>();
  for (const cell of cells) {
    if (view.searchScenarios.includes(cell.scenario)) continue;
    const key = JSON.stringify([cell.power, cell.clocks, cell.modelId, cell.scenario]);
    let group = groups.get(key);
    if (group === undefined) {
      const model = view.models.get(cell.modelId);
      const modelPath = model?.path ?? null;
      group = {
        key,
        power: cell.power,
        powerLabel: view.powerLabels.get(cell.power) ?? cell.power.toUpperCase(),
        clocks: cell.clocks,
        modelId: cell.modelId,
        modelName: modelDisplayName(cell.modelId, modelPath),
        quantLabel: quantizationLabel(cell.quantization, modelPath),
        sizeLabel: sizeLabel(cell.modelSize ?? model?.size ?? null),
        scenario: cell.scenario,
        cells: [],
        succeeded: [],
        firstPosition: cell.position,
      };
      groups.set(key, group);
    }
    // What nvpmodel reported on the device beats what the experiment file said.
    if (cell.device?.powerModeName) group.powerLabel = cell.device.powerModeName;
    group.cells.push(cell);
    if (cell.status === 'succeeded' && cell.metrics !== null) group.succeeded.push(cell);
  }

  const dims: Dimensions = {
    power:
      distinctCount(
        view.powerOrder,
        cells.map((c) => c.power),
      ) > 1,
    clocks:
      distinctCount(
        view.clocks,
        cells.map((c) => c.clocks),
      ) > 1,
    model:
      distinctCount(
        view.modelOrder,
        cells.map((c) => c.modelId),
      ) > 1,
    repeats: (view.repeats ?? 1) > 1 || [...groups.values()].some((g) => g.cells.length > 1),
  };

  const rowCells = cells.filter((c) => !view.searchScenarios.includes(c.scenario));
  const scenarioNames = [...view.scenarioOrder.filter((s) => rowCells.some((c) => c.scenario === s))];
  for (const c of rowCells) if (!scenarioNames.includes(c.scenario)) scenarioNames.push(c.scenario);
  const sections = scenarioNames.map((scenario) => ({
    scenario,
    info: view.scenarios.get(scenario) ?? null,
    rows: [...groups.values()].filter((g) => g.scenario === scenario).sort(inMatrixOrder(view)),
  }));

  const devices = new Map<string, DeviceFacts>();
  for (const c of cells)
    if (c.device)
      devices.set(
        JSON.stringify([c.device.deviceId, c.device.model, c.device.l4tRelease, c.device.simulated]),
        c.device,
      );

  return {
    sweep: input.sweep,
    view,
    cells,
    dims,
    sections,
    counts: countCells(cells, input.sweep.plannedCells),
    simulated: input.sweep.simulated || cells.some((c) => c.simulated || c.device?.simulated === true),
    devices: [...devices.values()],
    // "image (vLLM x.y, digest)" with what the record knows, so numbers tie to the build that produced them.
    engineImages: [...new Set(cells.flatMap((c) => (c.engine?.image ? [engineLabel(c.engine)] : [])))],
    capacities: sweepCapacities(input.sweep.experimentJson, cells),
  };
}
