/**
 * The planner: orders the experiment's matrix so that expensive transitions happen as rarely as possible.
 *
 * Costs on a real Thor, most expensive first: a reboot (a power-mode change across TPC power-gating masks),
 * a model load (1-5 minutes), a power-mode change (seconds), a clocks change (seconds), and the benchmark itself.
 * So cells are grouped by power mode (modes that share a power-gating group are adjacent, so at most one reboot
 * happens per group), then by model (one load per model per power mode), then by clocks, then by scenario and
 * repeat (back to back on the loaded model). Within a power mode, "default" clocks run before "locked":
 * `nvpmodel -m` resets clocks to DVFS anyway, so that order needs one `jetson_clocks` per model instead of two.
 *
 * Pure and deterministic: used by the CLI (`thorbench plan`) and by the sweep workflow.
 */
import {
  type Clocks,
  type Experiment,
  type ModelSpec,
  type PowerModeSpec,
  type ScenarioSpec,
  powerKey,
} from '../schema/experiment.js';
import { maxProbes, probeScenario } from './search.js';

export interface PlannedCell {
  /** Stable, readable id: <power>.<clocks>.<model>.<scenario>.r<repeat>, e.g. maxn.locked.qwen3-8b-fp8.high-load.r1 */
  id: string;
  /** 0-based position in execution order. */
  position: number;
  powerKey: string;
  power: PowerModeSpec;
  clocks: Clocks;
  model: ModelSpec;
  scenario: ScenarioSpec;
  /** 1-based repeat number. */
  repeat: number;
  /** Cells that share one engine instance (same power mode and model) share this key. */
  engineGroup: string;
  /** First cell of its engine group: flush caches, start the engine, warm up. */
  startsEngine: boolean;
  /** Last cell of its engine group: tear the engine down afterwards. */
  stopsEngine: boolean;
  /** The power mode differs from the previous cell's (or this is the first cell). */
  changesPowerMode: boolean;
  /** The clocks setting differs from what the previous cell left (after a power change clocks are "default"). */
  changesClocks: boolean;
  /** The power-mode change into this cell may need a reboot (different power-gating group). */
  mayReboot: boolean;
  /**
   * Set on a search slot (a scenario with `search`): not a cell but the place in the plan where the sweep searches
   * this configuration's capacity, running probe cells it chooses at run time (plan/search.ts). Its id ends in
   * `.search`; its probes' ids in `.c<N>.r<R>` or `.rate<X>.r<R>`. One slot per configuration, whatever the repeats.
   */
  search?: { repeats: number; maxProbes: number };
}

export interface PlanCounts {
  cells: number;
  modelLoads: number;
  powerModeChanges: number;
  clockChanges: number;
  /** Reboots the plan may trigger: transitions between power-gating groups (the first cell counts when its mode may need one). */
  reboots: number;
  /** Capacity searches (search slots among `cells`), and the most probe cells they can run (probes × repeats). */
  searches: number;
  maxProbeCells: number;
}

export interface Plan {
  experiment: string;
  cells: PlannedCell[];
  counts: PlanCounts;
  /** Rough wall-clock estimate on a real Thor, in seconds. */
  estimatedSeconds: number;
}

/**
 * Power-gating groups of Jetson AGX Thor (T5000, L4T R38): switching within a group is live, switching across
 * groups needs a reboot (different TPC_PG_MASK). Names not listed form a group of their own. The device is the
 * authority at run time (activities compare TPC masks from `nvpmodel -p --verbose`); this table only informs the
 * plan's ordering and its estimate.
 */
export const THOR_POWER_GROUPS: Record<string, number> = {
  maxn: 0,
  '120w': 0,
  mode0: 0,
  mode1: 0,
  '90w': 1,
  '70w': 1,
  mode2: 1,
  mode3: 1,
};

/** Seconds each transition costs on a real Thor (used for the estimate only). */
export const TRANSITION_COST_S = {
  reboot: 180,
  modelLoad: 150,
  powerModeChange: 5,
  clockChange: 3,
  warmupPerPrompt: 0.5,
} as const;

function powerGroup(key: string): number {
  return THOR_POWER_GROUPS[key] ?? 100 + [...key].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 1_000_000, 7);
}

function isExcluded(exp: Experiment, p: string, clocks: Clocks, model: string, scenario: string): boolean {
  return exp.exclude.some(
    (sel) =>
      (sel.power === undefined || sel.power.toLowerCase() === p) &&
      (sel.clocks === undefined || sel.clocks === clocks) &&
      (sel.model === undefined || sel.model === model) &&
      (sel.scenario === undefined || sel.scenario === scenario),
  );
}

/** Cell id of one matrix point. */
export function cellId(
  power: PowerModeSpec,
  clocks: Clocks,
  model: ModelSpec,
  scenario: ScenarioSpec,
  repeat: number,
): string {
  return `${powerKey(power)}.${clocks}.${model.id}.${scenario.name}.r${repeat}`;
}

/** Id of a search slot: the configuration and scenario, then `.search`. */
export function searchSlotId(power: PowerModeSpec, clocks: Clocks, model: ModelSpec, scenario: ScenarioSpec): string {
  return `${powerKey(power)}.${clocks}.${model.id}.${scenario.name}.search`;
}

/**
 * Rough benchmark time of one scenario on a Thor: decode-bound at the guide's ~25 ms per token step. A search
 * counts its most probes, each at the geometric middle of its range.
 */
export function estimateBenchmarkSeconds(s: ScenarioSpec): number {
  if (s.search) {
    const middle = Math.sqrt(s.search.min * s.search.max);
    const load = s.search.vary === 'maxConcurrency' ? Math.round(middle) : middle;
    return maxProbes(s.search) * estimateBenchmarkSeconds(probeScenario(s, load));
  }
  const concurrency = Math.min(s.maxConcurrency ?? 256, s.numPrompts);
  const waves = Math.ceil(s.numPrompts / concurrency);
  const perRequest = 0.00025 * s.inputLen + 0.025 * s.outputLen;
  return waves * perRequest;
}

export function planSweep(exp: Experiment): Plan {
  // Power modes: keep the file's order but make modes of the same power-gating group adjacent.
  const powers = exp.matrix.power
    .map((p, index) => ({ p, index, group: powerGroup(powerKey(p)) }))
    .sort((a, b) => {
      const firstA = exp.matrix.power.findIndex((q) => powerGroup(powerKey(q)) === a.group);
      const firstB = exp.matrix.power.findIndex((q) => powerGroup(powerKey(q)) === b.group);
      return firstA - firstB || a.index - b.index;
    });
  const clockOrder: Clocks[] = (['default', 'locked'] as const).filter((c) => exp.matrix.clocks.includes(c));

  const cells: PlannedCell[] = [];
  let prevPower: string | null = null;
  let prevGroup: number | null = null;
  let clocksNow: Clocks | null = null;
  const counts: PlanCounts = {
    cells: 0,
    modelLoads: 0,
    powerModeChanges: 0,
    clockChanges: 0,
    reboots: 0,
    searches: 0,
    maxProbeCells: 0,
  };
  let estimate = 0;

  for (const { p, group } of powers) {
    const pk = powerKey(p);
    for (const model of exp.matrix.model) {
      const engineGroup = `${pk}.${model.id}`;
      const groupCells: PlannedCell[] = [];
      for (const clocks of clockOrder) {
        for (const scenario of exp.matrix.scenario) {
          // A search is one slot whatever the repeats: each of its probes runs every repeat.
          const slots = scenario.search ? 1 : exp.repeats;
          for (let repeat = 1; repeat <= slots; repeat++) {
            if (isExcluded(exp, pk, clocks, model.id, scenario.name)) continue;
            const search = scenario.search
              ? { repeats: exp.repeats, maxProbes: maxProbes(scenario.search) }
              : undefined;
            const changesPowerMode = prevPower !== pk;
            const mayReboot = changesPowerMode && (prevGroup === null ? group !== 0 : prevGroup !== group);
            if (changesPowerMode) clocksNow = 'default'; // nvpmodel -m undoes jetson_clocks
            const changesClocks = clocksNow !== clocks;
            const cell: PlannedCell = {
              id: search ? searchSlotId(p, clocks, model, scenario) : cellId(p, clocks, model, scenario, repeat),
              position: cells.length,
              powerKey: pk,
              power: p,
              clocks,
              model,
              scenario,
              repeat,
              engineGroup,
              startsEngine: groupCells.length === 0,
              stopsEngine: false,
              changesPowerMode,
              changesClocks,
              mayReboot,
              ...(search ? { search } : {}),
            };
            if (search) {
              counts.searches++;
              counts.maxProbeCells += search.maxProbes * search.repeats;
            }
            if (changesPowerMode) counts.powerModeChanges++;
            if (mayReboot) counts.reboots++;
            if (changesClocks) counts.clockChanges++;
            if (cell.startsEngine) counts.modelLoads++;
            estimate +=
              (mayReboot ? TRANSITION_COST_S.reboot : 0) +
              (changesPowerMode ? TRANSITION_COST_S.powerModeChange : 0) +
              (changesClocks ? TRANSITION_COST_S.clockChange : 0) +
              (cell.startsEngine
                ? TRANSITION_COST_S.modelLoad + (exp.warmup?.numPrompts ?? 0) * TRANSITION_COST_S.warmupPerPrompt
                : 0) +
              estimateBenchmarkSeconds(scenario) * (search?.repeats ?? 1);
            prevPower = pk;
            prevGroup = group;
            clocksNow = clocks;
            groupCells.push(cell);
            cells.push(cell);
          }
        }
      }
      const last = groupCells.at(-1);
      if (last) last.stopsEngine = true;
    }
  }
  counts.cells = cells.length - counts.searches;
  return { experiment: exp.name, cells, counts, estimatedSeconds: Math.round(estimate) };
}
