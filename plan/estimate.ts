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
    warmup: c.startsEngine ? s(warmupPrompts * TRANSITION_COST_S.warmupPerPrompt) : 0,
    benchmark: s(estimateBenchmarkSeconds(c.scenario)),
    teardown: c.stopsEngine ? SMALL_STEP_MS.teardown : 0,
  };
}

/** Planned and measured time per step kind, summed over the steps that ran. */
export interface StepCalibration {
  planned: StepCosts;
  measured: StepCosts;
}

export function emptyCalibration(): StepCalibration {
  return { planned: {}, measured: {} };
}

/** Adds the steps a finished cell ran (done or failed; skipped steps took no time either way). */
export function calibrate(
  cal: StepCalibration,
  planned: StepCosts,
  ran: readonly { step: StepName; durationMs: number }[],
): void {
  for (const { step, durationMs } of ran) {
    const plannedMs = planned[step] ?? 0;
    if (plannedMs <= 0) continue;
    cal.planned[step] = (cal.planned[step] ?? 0) + plannedMs;
    cal.measured[step] = (cal.measured[step] ?? 0) + durationMs;
  }
}

function sum(costs: StepCosts): number {
  return Object.values(costs).reduce((a, b) => a + (b ?? 0), 0);
}

/**
 * Measured/planned per step kind; a kind not measured yet takes the ratio over every measured kind, and with no
 * measurement at all the plan stands (1).
 */
export function stepRatio(cal: StepCalibration, step: StepName): number {
  const planned = cal.planned[step] ?? 0;
  if (planned > 0) return (cal.measured[step] ?? 0) / planned;
  const allPlanned = sum(cal.planned);
  return allPlanned > 0 ? sum(cal.measured) / allPlanned : 1;
}

/** One cell's expected duration, corrected by the calibration. */
export function estimateCellMs(planned: StepCosts, cal: StepCalibration): number {
  let total = 0;
  for (const [step, ms] of Object.entries(planned) as [StepName, number][]) total += ms * stepRatio(cal, step);
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
