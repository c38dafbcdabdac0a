/**
 * The planner: orders the experiment's matrix so that expensive transitions happen as rarely as possible.
 *
 * Costs on a real Thor, most expensive first: a reboot (a power-mode change across TPC power-gating masks), a model
 * load (1-5 minutes), a warm-up, a power-mode change (seconds), a clocks change (seconds), and the benchmark itself.
 * A power-mode change within a power-gating group is live and needs no reboot (docs/thor.md), and the engine keeps
 * serving across it. So the plan runs in reboot epochs, the power modes of one power-gating group (MAXN/120W and
 * 90W/70W on Thor):
 *
 *   reboot epoch → model → power mode → clocks → scenario → repeat
 *
 * One engine serves a model for its whole epoch (engine group = epoch × model): each model loads once per epoch,
 * the device reboots once per epoch change, and the cell after a power-mode change warms the running engine up
 * again (workflows/cell.ts). The first epoch is the one the device is in (`PlanStart`, from the sweep's
 * describeDevice), so a device at 70W runs the 90W/70W cells first without a reboot; the rest follow in the file's
 * order. Within an epoch each model starts in the power mode the previous model left the device in (one power-mode
 * change per model instead of two), and "default" clocks run before "locked": `nvpmodel -m` resets clocks to DVFS,
 * so that order needs one `jetson_clocks` per power mode and model.
 *
 * `engine.restartOnPowerModeChange` keeps one engine per power mode and model instead (epoch → power mode → model →
 * clocks). Sweeps started before reboot epochs replay with `planSweepBeforeEpochs`; `planNaive` is the order of
 * plain nested loops, for comparison.
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
  /**
   * Cells that share one engine instance share this key: `<epoch>.<model>`, the epoch being its power keys joined
   * by `+` (`maxn+120w.qwen3-8b-fp8`); `<power>.<model>` with `engine.restartOnPowerModeChange`.
   */
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
  /** Warm-ups: one per model load, and one per power-mode change of a running engine. */
  warmups: number;
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

/**
 * Where the device is when the sweep begins (the sweep's describeDevice of its first device): the plan starts in
 * this power mode's epoch, in this power mode and clocks.
 */
export interface PlanStart {
  /** The device's power mode, by name and id as nvpmodel reports it (either alone is matched too). */
  power: PowerModeSpec;
  /** Unknown: the first cell's clocks count as a change. */
  clocks?: Clocks;
}

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

/** One (power mode, clocks, model) of the matrix in its place in the order, with the engine that serves it. */
interface Configuration {
  power: PowerModeSpec;
  clocks: Clocks;
  model: ModelSpec;
  engineGroup: string;
}

/**
 * Clocks in the order they run: "default" first, because `nvpmodel -m` leaves the device at DVFS clocks, so each
 * power mode and model needs one `jetson_clocks` (a model that follows in the same power mode unlocks them first).
 */
function clockOrder(exp: Experiment): Clocks[] {
  return (['default', 'locked'] as const).filter((c) => exp.matrix.clocks.includes(c));
}

/** The configuration has a cell that is not excluded. */
function hasCells(exp: Experiment, p: PowerModeSpec, clocks: Clocks, model: ModelSpec): boolean {
  return exp.matrix.scenario.some((s) => !isExcluded(exp, powerKey(p), clocks, model.id, s.name));
}

/** The list in its order, rotated to begin at the first item `at` accepts (as it is when none does). */
function startingAt<T>(list: readonly T[], at: (x: T) => boolean): T[] {
  const i = list.findIndex(at);
  return i <= 0 ? [...list] : [...list.slice(i), ...list.slice(0, i)];
}

interface Epoch {
  group: number;
  powers: PowerModeSpec[];
}

/** The matrix's power modes by power-gating group; groups in the order the file first names them. */
function epochsOf(exp: Experiment): Epoch[] {
  const epochs: Epoch[] = [];
  for (const p of exp.matrix.power) {
    const group = powerGroup(powerKey(p));
    const epoch = epochs.find((e) => e.group === group);
    if (epoch) epoch.powers.push(p);
    else epochs.push({ group, powers: [p] });
  }
  return epochs;
}

/** The device's power mode as the plan sees it: the matrix's mode it is (by name or id), else its own. */
function startPower(exp: Experiment, start: PlanStart): { key: string; group: number } {
  const d = start.power;
  const p =
    exp.matrix.power.find(
      (q) =>
        (q.mode !== undefined && q.mode.toLowerCase() === d.mode?.toLowerCase()) ||
        (q.id !== undefined && q.id === d.id),
    ) ?? d;
  return { key: powerKey(p), group: powerGroup(powerKey(p)) };
}

/**
 * Reboot epochs from the device's own, then models, then power modes, each model starting in the power mode the
 * previous one left the device in (see the top of this file); with `restart`, power modes before models, one engine
 * per power mode and model.
 */
function epochOrder(exp: Experiment, start: PlanStart | undefined, restart: boolean): Configuration[] {
  const from = start && startPower(exp, start);
  const order: Configuration[] = [];
  let power = from?.key ?? null;
  const add = (p: PowerModeSpec, model: ModelSpec, engineGroup: string) => {
    for (const clocks of clockOrder(exp)) {
      if (!hasCells(exp, p, clocks, model)) continue;
      order.push({ power: p, clocks, model, engineGroup });
      power = powerKey(p);
    }
  };
  for (const epoch of startingAt(epochsOf(exp), (e) => e.group === from?.group)) {
    const fromHere = () => startingAt(epoch.powers, (p) => powerKey(p) === power);
    if (restart) {
      for (const p of fromHere()) for (const m of exp.matrix.model) add(p, m, `${powerKey(p)}.${m.id}`);
    } else {
      const key = epoch.powers.map(powerKey).join('+');
      for (const m of exp.matrix.model) for (const p of fromHere()) add(p, m, `${key}.${m.id}`);
    }
  }
  return order;
}

/**
 * The cells of configurations in the given order, with what each transition costs. Cells of one engine group must
 * be contiguous: the engine starts at the first and stops after the last.
 */
function layOut(exp: Experiment, order: readonly Configuration[], start?: PlanStart): Plan {
  const from = start && startPower(exp, start);
  const cells: PlannedCell[] = [];
  let prevPower = from?.key ?? null;
  let prevGroup = from?.group ?? null;
  let clocksNow: Clocks | null = start?.clocks ?? null;
  const counts: PlanCounts = {
    cells: 0,
    modelLoads: 0,
    powerModeChanges: 0,
    clockChanges: 0,
    reboots: 0,
    warmups: 0,
    searches: 0,
    maxProbeCells: 0,
  };
  let estimate = 0;

  for (const { power: p, clocks, model, engineGroup } of order) {
    const pk = powerKey(p);
    const group = powerGroup(pk);
    for (const scenario of exp.matrix.scenario) {
      // A search is one slot whatever the repeats: each of its probes runs every repeat.
      const slots = scenario.search ? 1 : exp.repeats;
      for (let repeat = 1; repeat <= slots; repeat++) {
        if (isExcluded(exp, pk, clocks, model.id, scenario.name)) continue;
        const search = scenario.search ? { repeats: exp.repeats, maxProbes: maxProbes(scenario.search) } : undefined;
        const previous = cells.at(-1);
        const startsEngine = previous?.engineGroup !== engineGroup;
        if (previous && startsEngine) previous.stopsEngine = true;
        const changesPowerMode = prevPower !== pk;
        // Without a start the device is taken to be in the first power-gating group (MAXN/120W: the factory default).
        const mayReboot = changesPowerMode && (prevGroup === null ? group !== 0 : prevGroup !== group);
        if (changesPowerMode) clocksNow = 'default'; // nvpmodel -m undoes jetson_clocks
        const changesClocks = clocksNow !== clocks;
        // The engine warms up when it starts, and again after the power mode changed under it (workflows/cell.ts).
        const warmsUp = startsEngine || changesPowerMode;
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
          startsEngine,
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
        if (startsEngine) counts.modelLoads++;
        if (warmsUp) counts.warmups++;
        estimate +=
          (mayReboot ? TRANSITION_COST_S.reboot : 0) +
          (changesPowerMode ? TRANSITION_COST_S.powerModeChange : 0) +
          (changesClocks ? TRANSITION_COST_S.clockChange : 0) +
          (startsEngine ? TRANSITION_COST_S.modelLoad : 0) +
          (warmsUp ? (exp.warmup?.numPrompts ?? 0) * TRANSITION_COST_S.warmupPerPrompt : 0) +
          estimateBenchmarkSeconds(scenario) * (search?.repeats ?? 1);
        prevPower = pk;
        prevGroup = group;
        clocksNow = clocks;
        cells.push(cell);
      }
    }
  }
  const last = cells.at(-1);
  if (last) last.stopsEngine = true;
  counts.cells = cells.length - counts.searches;
  return { experiment: exp.name, cells, counts, estimatedSeconds: Math.round(estimate) };
}

/**
 * The sweep's plan: reboot epochs, starting in the one the device is in (`start`), one engine per model and epoch
 * (or per power mode and model with `engine.restartOnPowerModeChange`).
 */
export function planSweep(exp: Experiment, start?: PlanStart): Plan {
  return layOut(exp, epochOrder(exp, start, exp.engine.restartOnPowerModeChange === true), start);
}

/**
 * The plan of sweeps started before reboot epochs (workflows/patches.ts POWER_EPOCHS_PATCH), whose histories replay
 * only in the order they ran: `restartOnPowerModeChange` from MAXN/120W, i.e. power modes of one power-gating group
 * adjacent, then model, then clocks.
 */
export function planSweepBeforeEpochs(exp: Experiment): Plan {
  return layOut(exp, epochOrder(exp, undefined, true));
}

/**
 * The matrix as nested loops in the file's order would run it: power mode → clocks → model → scenario, the engine
 * restarted whenever the model or the power mode changes. Not run by the sweep; the yardstick for planSweep.
 */
export function planNaive(exp: Experiment): Plan {
  const order: Configuration[] = [];
  const engines = new Map<string, number>();
  let previous: string | null = null;
  for (const p of exp.matrix.power)
    for (const clocks of exp.matrix.clocks)
      for (const model of exp.matrix.model) {
        if (!hasCells(exp, p, clocks, model)) continue;
        // The same power mode and model again after other models is another engine: number it.
        const engine = `${powerKey(p)}.${model.id}`;
        if (engine !== previous) engines.set(engine, (engines.get(engine) ?? 0) + 1);
        previous = engine;
        const n = engines.get(engine)!;
        order.push({ power: p, clocks, model, engineGroup: n === 1 ? engine : `${engine}#${n}` });
      }
  return layOut(exp, order);
}
