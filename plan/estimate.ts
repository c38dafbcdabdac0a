/**
 * Time left in a sweep: the plan's cost of each step of each cell still to run, corrected by how long those steps
 * actually took so far (a simulated device or a small model is far faster than the plan's Thor figures; a large
 * model slower). Pure and deterministic: the sweep's `progress` query calls it.
 */
import type { StepName } from '../schema/experiment.js';
import { type PlannedCell, TRANSITION_COST_S, estimateBenchmarkSeconds } from './plan.js';

export type StepCosts = Partial<Record<StepName, number>>;

/** Steps the plan has no figure for: small, fixed costs on a real Thor (ms). */
const SMALL_STEP_MS = {
  flushCaches: 2_000,
  describeDevice: 1_000,
  engineAdopt: 500,
  control: 500,
  teardown: 5_000,
} as const;

/** The plan's cost of each step of a cell, in ms, following the plan's transitions (plan/plan.ts). */
export function plannedStepCosts(c: PlannedCell, warmupPrompts: number): StepCosts {
  const s = (seconds: number) => Math.round(seconds * 1000);
  return {
    flushCaches: c.startsEngine ? SMALL_STEP_MS.flushCaches : 0,
    ensurePowerMode: c.changesPowerMode ? s(TRANSITION_COST_S.powerModeChange) : SMALL_STEP_MS.control,
    rebootForPowerMode: c.mayReboot ? s(TRANSITION_COST_S.reboot) : 0,
    ensureClocks: c.changesClocks ? s(TRANSITION_COST_S.clockChange) : SMALL_STEP_MS.control,
    describeDevice: SMALL_STEP_MS.describeDevice,
    startEngine: SMALL_STEP_MS.engineAdopt,
    // Loading the model is what waitForHealth waits for.
    waitForHealth: c.startsEngine ? s(TRANSITION_COST_S.modelLoad) : SMALL_STEP_MS.control,
    // A running engine warms up again after a power-mode change (reboot epochs, plan/plan.ts).
    warmup: c.startsEngine || c.changesPowerMode ? s(warmupPrompts * TRANSITION_COST_S.warmupPerPrompt) : 0,
    benchmark: s(estimateBenchmarkSeconds(c.scenario) * (c.search?.repeats ?? 1)),
    teardown: c.stopsEngine ? SMALL_STEP_MS.teardown : 0,
  };
}

/** Planned and measured milliseconds, summed. */
interface Sums {
  planned: number;
  measured: number;
}

/**
 * Planned and measured time of the steps that ran, summed per step kind and per step kind and planned cost (a model
 * load and an adopted engine are both `waitForHealth`, but scale differently); and the time finished cells spent
 * outside their steps (starting the cell, recording it), which no step measures.
 */
export interface StepCalibration {
  byStep: Record<string, Sums>;
  /** Keyed `<step>@<planned ms>`. */
  byCost: Record<string, Sums>;
  /** Sum over finished cells of (cell wall time − its steps' time), and how many cells that sums. */
  overheadMs: number;
  cells: number;
}

export function emptyCalibration(): StepCalibration {
  return { byStep: {}, byCost: {}, overheadMs: 0, cells: 0 };
}

function add(sums: Record<string, Sums>, key: string, planned: number, measured: number): void {
  const s = (sums[key] ??= { planned: 0, measured: 0 });
  s.planned += planned;
  s.measured += measured;
}

/**
 * Adds a finished cell: the steps it ran (done or failed; skipped steps took no time either way) and, given its
 * wall time, the time it spent outside them.
 */
export function calibrate(
  cal: StepCalibration,
  planned: StepCosts,
  ran: readonly { step: StepName; durationMs: number }[],
  cellMs?: number,
): void {
  if (cellMs !== undefined) {
    cal.overheadMs += Math.max(0, cellMs - ran.reduce((a, s) => a + s.durationMs, 0));
    cal.cells++;
  }
  for (const { step, durationMs } of ran) {
    const plannedMs = planned[step] ?? 0;
    if (plannedMs <= 0) continue;
    add(cal.byStep, step, plannedMs, durationMs);
    add(cal.byCost, `${step}@${plannedMs}`, plannedMs, durationMs);
  }
}

/** Durations of the steps a running cell has finished, from the starts of its steps (the last is still running). */
export function finishedSteps(
  starts: readonly { step: StepName; startedAt: number }[],
): { step: StepName; durationMs: number }[] {
  return starts
    .slice(0, -1)
    .map((s, i) => ({ step: s.step, durationMs: Math.max(0, starts[i + 1]!.startedAt - s.startedAt) }));
}

/**
 * Measured/planned for a step of this planned cost: from steps of the same kind and cost when there are some, else
 * of the same kind, else of every kind; with no measurement at all the plan stands (1).
 */
export function stepRatio(cal: StepCalibration, step: StepName, plannedMs?: number): number {
  const all = Object.values(cal.byStep).reduce(
    (a, s) => ({ planned: a.planned + s.planned, measured: a.measured + s.measured }),
    {
      planned: 0,
      measured: 0,
    },
  );
  for (const s of [plannedMs === undefined ? undefined : cal.byCost[`${step}@${plannedMs}`], cal.byStep[step], all]) {
    if (s && s.planned > 0) return s.measured / s.planned;
  }
  return 1;
}

/** One cell's expected duration, corrected by the calibration, with the mean time cells spent outside steps. */
export function estimateCellMs(planned: StepCosts, cal: StepCalibration): number {
  let total = cal.cells > 0 ? cal.overheadMs / cal.cells : 0;
  for (const [step, ms] of Object.entries(planned) as [StepName, number][]) total += ms * stepRatio(cal, step, ms);
  return total;
}

export interface CellToRun {
  planned: StepCosts;
  /** Epoch ms when the cell started, if it is in flight. */
  startedAt: number | null;
}

/**
 * Time left: devices run their shards in parallel, cells on one device one after another, so the sweep ends when
 * its slowest device does. An in-flight cell counts what is left of its estimate.
 */
export function estimateRemainingMs(
  shards: readonly (readonly CellToRun[])[],
  cal: StepCalibration,
  now: number,
): number {
  let longest = 0;
  for (const cells of shards) {
    let left = 0;
    for (const c of cells) {
      const estimate = estimateCellMs(c.planned, cal);
      left += c.startedAt === null ? estimate : Math.max(0, estimate - (now - c.startedAt));
    }
    longest = Math.max(longest, left);
  }
  return Math.round(longest);
}
