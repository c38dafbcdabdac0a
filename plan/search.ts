/**
 * SLO capacity search: which load to probe next, given the probes so far, and whether a probe met the SLOs.
 *
 * The load (`maxConcurrency` or `requestRate`) is probed exponentially from `min` (min, 2·min, 4·min, … capped at
 * `max`) until a probe misses; then the bracket between the highest passing and the lowest missing load is bisected:
 * to one request for concurrency, to the relative `precision` (default 5 %) for request rate, whose midpoints are
 * geometric. The capacity is the highest passing load; null when even `min` misses. Latency is assumed to grow
 * with load: a miss below a pass (noise) does not narrow the bracket.
 *
 * A probe is one recorded cell per repeat (ids `<power>.<clocks>.<model>.<scenario>.c16.r1`, `….rate2.5.r1`). It
 * passes when every repeat completed at least `minRequests` requests and every SLO holds: with one repeat at the
 * measured value, with several at the upper bound of the repeats' 95 % confidence interval (metrics/repeats.ts).
 *
 * Pure and deterministic: used by the sweep workflow, `thorbench plan` and the report.
 */
import { summarizeValues } from '../metrics/repeats.js';
import type { ScenarioSpec, SearchSpec } from '../schema/experiment.js';
import type { PlannedCell } from './plan.js';

/** Relative precision of a request-rate search when the experiment gives none. */
export const DEFAULT_RATE_PRECISION = 0.05;

export interface ProbeOutcome {
  value: number;
  pass: boolean;
}

export type SearchStep = { kind: 'probe'; value: number } | { kind: 'done'; capacity: number | null };

/** Request rates are probed at 3 significant digits, so cell ids stay short and a resumed search picks the same. */
function roundRate(x: number): number {
  return Number(x.toPrecision(3));
}

/** The next load to probe, or the capacity once the bracket is narrow enough. */
export function nextProbe(search: SearchSpec, probes: readonly ProbeOutcome[]): SearchStep {
  const byConcurrency = search.vary === 'maxConcurrency';
  const passed = probes.filter((p) => p.pass).map((p) => p.value);
  if (passed.length === 0) {
    if (probes.some((p) => p.value <= search.min)) return { kind: 'done', capacity: null };
    return { kind: 'probe', value: search.min };
  }
  const lo = Math.max(...passed);
  const above = probes.filter((p) => !p.pass && p.value > lo).map((p) => p.value);
  if (above.length === 0) {
    if (lo >= search.max) return { kind: 'done', capacity: lo };
    const up = byConcurrency ? lo * 2 : roundRate(lo * 2);
    return { kind: 'probe', value: Math.min(up, search.max) };
  }
  const hi = Math.min(...above);
  const mid = byConcurrency ? Math.floor((lo + hi) / 2) : roundRate(Math.sqrt(lo * hi));
  const precision = search.precision ?? DEFAULT_RATE_PRECISION;
  const narrow = byConcurrency ? hi - lo <= 1 : hi / lo <= 1 + precision;
  if (narrow || mid <= lo || mid >= hi) return { kind: 'done', capacity: lo };
  return { kind: 'probe', value: mid };
}

/** Bisection steps that narrow the bracket (lo, hi) to the search's resolution. */
function bisectionSteps(search: SearchSpec, lo: number, hi: number): number {
  if (search.vary === 'maxConcurrency') return hi - lo <= 1 ? 0 : Math.ceil(Math.log2(hi - lo));
  const precision = search.precision ?? DEFAULT_RATE_PRECISION;
  const ratio = Math.log(hi / lo) / Math.log(1 + precision);
  // One more than the halvings: rounding midpoints to 3 digits can leave a bracket a hair too wide.
  return ratio <= 1 ? 0 : Math.ceil(Math.log2(ratio)) + 1;
}

/** Most probes the search can take (each probe runs every repeat): for `thorbench plan` and the estimate. */
export function maxProbes(search: SearchSpec): number {
  const ladder = [search.min];
  while (ladder.at(-1)! < search.max) {
    const last = ladder.at(-1)!;
    const up = search.vary === 'maxConcurrency' ? last * 2 : roundRate(last * 2);
    ladder.push(Math.min(up, search.max));
  }
  // A miss at ladder[k] leaves the bracket (ladder[k - 1], ladder[k]) to bisect after k + 1 probes.
  let most = ladder.length;
  for (let k = 1; k < ladder.length; k++)
    most = Math.max(most, k + 1 + bisectionSteps(search, ladder[k - 1]!, ladder[k]!));
  return most;
}

/** How a probe's load appears in its cell ids: `c16`, `rate2.5`. */
export function probeLabel(search: Pick<SearchSpec, 'vary'>, value: number): string {
  return search.vary === 'maxConcurrency' ? `c${value}` : `rate${value}`;
}

/** The scenario one probe runs: the search's scenario at a fixed load, without the search. */
export function probeScenario(scenario: ScenarioSpec, value: number): ScenarioSpec {
  const { search, ...fixed } = scenario;
  if (!search) throw new Error(`scenario ${scenario.name} has no search`);
  return { ...fixed, [search.vary]: value };
}

/** `maxn.locked.qwen3-8b-fp8.chat-slo.search` → `maxn.locked.qwen3-8b-fp8` (the `config` of a capacity). */
export function slotConfig(slot: Pick<PlannedCell, 'powerKey' | 'clocks' | 'model'>): string {
  return `${slot.powerKey}.${slot.clocks}.${slot.model.id}`;
}

/**
 * The cells of one probe, one per repeat: the slot's configuration at the probe's load, in the slot's place in the
 * plan. Only the search's first probe carries the slot's transitions (engine start, power and clocks changes).
 */
export function probeCells(slot: PlannedCell, value: number): PlannedCell[] {
  const spec = slot.scenario.search;
  if (!spec || !slot.search) throw new Error(`${slot.id} is not a search slot`);
  const { search: _slot, ...cell } = slot;
  const scenario = probeScenario(slot.scenario, value);
  const first = value === spec.min;
  return Array.from({ length: slot.search.repeats }, (_, i) => ({
    ...cell,
    id: `${slotConfig(slot)}.${slot.scenario.name}.${probeLabel(spec, value)}.r${i + 1}`,
    scenario,
    repeat: i + 1,
    startsEngine: slot.startsEngine && first && i === 0,
    changesPowerMode: slot.changesPowerMode && first && i === 0,
    changesClocks: slot.changesClocks && first && i === 0,
    mayReboot: slot.mayReboot && first && i === 0,
    // The sweep tears the engine down after the search when the slot ends its engine group.
    stopsEngine: false,
  }));
}

/** Why a probe passed or missed, metric by metric. */
export interface ProbeJudgement {
  pass: boolean;
  /** Each SLO key → the value judged (the measured value, or the repeats' upper 95 % bound), null if not measured. */
  judged: Record<string, number | null>;
  reasons: string[];
}

/** One repeat of a probe as recorded: its metrics when it ran its benchmark, else null (it failed). */
export interface ProbeRepeat {
  cellId: string;
  metrics: Record<string, unknown> | null;
}

function finite(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

/** Whether a probe met every SLO: at the measured value with one repeat, at the 95 % CI's upper bound with more. */
export function judgeProbe(search: SearchSpec, repeats: readonly ProbeRepeat[]): ProbeJudgement {
  const reasons: string[] = [];
  const judged: Record<string, number | null> = {};
  for (const r of repeats) {
    if (r.metrics === null) reasons.push(`${r.cellId} did not measure (the cell failed)`);
    else if (!finite(r.metrics.completed) || r.metrics.completed < search.minRequests)
      reasons.push(
        `${r.cellId} completed ${String(r.metrics.completed)} requests, fewer than minRequests ${search.minRequests}`,
      );
  }
  const measured = repeats.flatMap((r) => (r.metrics === null ? [] : [r.metrics]));
  for (const [key, limit] of Object.entries(search.slo)) {
    const values = measured.map((m) => m[key]);
    if (measured.length === 0 || !values.every(finite)) {
      judged[key] = null;
      if (measured.length > 0) reasons.push(`${key} was not measured`);
      continue;
    }
    const value = values.length === 1 ? values[0]! : summarizeValues(values)!.ci95[1];
    judged[key] = value;
    const how = values.length === 1 ? '' : ` (upper 95 % bound over ${values.length} repeats)`;
    if (value > limit) reasons.push(`${key} ${value.toFixed(1)}${how} > ${limit}`);
  }
  if (repeats.length === 0) reasons.push('no repeat recorded');
  return { pass: reasons.length === 0, judged, reasons };
}
