/**
 * The sweep: one experiment in, every cell of its matrix run through the step pipeline, every outcome recorded.
 *
 * Start it with the CLI (`thorbench run|start`) or with
 * `temporal workflow start --type sweep --task-queue thorbench --input-file experiments/x.json -w <id>`.
 * The workflow id is the sweep id under which results are stored; cells already recorded as succeeded under that
 * id are not run again, so restarting a terminated sweep under its id resumes it.
 */
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  executeChild,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ClaimActivities, DeviceWorkerActivities } from '../activities/index.js';
import type { BaselineComparison, ResultsActivities } from '../activities/results.js';
import type { VisibilityActivities } from '../activities/visibility.js';
import {
  type StepCalibration,
  calibrate,
  emptyCalibration,
  estimateRemainingMs,
  finishedSteps,
  plannedStepCosts,
} from '../plan/estimate.js';
import { type HoldsModel, type Lane, groupsForReturningDevice, moveGroups } from '../plan/failover.js';
import { type FinishLog, carriedFinishLog, emptyFinishLog, finishedSince, logFinished } from '../plan/finish-log.js';
import { type PackedIds, packByValue, unpackByValue, unpackIds } from '../plan/packed-ids.js';
import { assignModelGroups, plannedModels } from '../plan/model-eligibility.js';
import { type Plan, type PlanStart, type PlannedCell, planSweep, planSweepBeforeEpochs } from '../plan/plan.js';
import { type ProbeOutcome, judgeProbe, nextProbe, probeCells } from '../plan/search.js';
import { shardByDevice } from '../plan/shard.js';
import { type Experiment, type StepName, parseExperiment } from '../schema/experiment.js';
import { type CellStatus, type DeviceFacts, FailureType, type MovedFrom } from '../schema/outcome.js';
import { type UnrunReason, type UnrunStatus, unrunCellRecord } from './cell-record.js';
import { type CellDeviceLost, type CellInput, type CellResult, cell } from './cell.js';
import {
  type CellProgress,
  type CellStepStarted,
  type CurrentCell,
  type SearchProgress,
  type LostDevice,
  type SweepProgress,
  cellStepSignal,
  type ProgressRequest,
  progressQuery,
} from './messages.js';
import {
  COMPACT_CARRY_PATCH,
  FAILOVER_PATCH,
  MODELS_PRESENT_PATCH,
  POWER_EPOCHS_PATCH,
  REGRESSION_WATCH_PATCH,
  SLO_SEARCH_PATCH,
  UNRUN_CELLS_PATCH,
  WEB_UI_PATCH,
} from './patches.js';
import { type RegressionWatch, watchFromMemo } from './regression-watch.js';
import { SEARCH_ATTRIBUTES, cellSearchAttributes, onlyRegistered, sweepSearchAttributes } from './search-attributes.js';
import { QUICK_OPTIONS, quickDeviceOptions } from './step-options.js';
import { cellDetails, cellSummary } from './summaries.js';
import { DEVICE_CLAIM_TASK_QUEUE, SWEEP_TASK_QUEUE, deviceTaskQueue } from './task-queues.js';

/** State carried across continue-as-new: what is already done. */
export interface SweepCarry {
  /** The status of every finished cell (runs before COMPACT_CARRY_PATCH; `finishedIds` after). */
  finished?: Record<string, CellStatus>;
  /** The ids of the finished cells, per status, packed (plan/packed-ids.ts; COMPACT_CARRY_PATCH). */
  finishedIds?: Partial<Record<CellStatus, PackedIds>>;
  devices: string[];
  simulated: boolean;
  /** Power mode and clocks found on each device before the first cell (steps.restoreDevice). */
  before: Record<string, DeviceSnapshot>;
  /** Planned against measured step durations so far, for the estimate of the time left. */
  calibration?: StepCalibration;
  /** The baseline to compare with at the end (from the first run's memo). */
  watch?: RegressionWatch | null;
  /** Devices lost and not back yet (FAILOVER_PATCH). */
  lost?: Record<string, LostDevice>;
  /** Cells moved off a lost device, and which (FAILOVER_PATCH). */
  moved?: Record<string, MovedFrom>;
  /** Where the first device was when the sweep began (POWER_EPOCHS_PATCH): every run plans from there. */
  start?: PlanStart;
  /** Why each finished cell that did not succeed failed, for the progress query (absent in older runs). */
  failureTypes?: Record<string, FailureType>;
  /** The same, as the packed ids of the cells of each failure type (COMPACT_CARRY_PATCH). */
  failureTypeIds?: Partial<Record<FailureType, PackedIds>>;
  /** The last cells to finish, in order (plan/finish-log.ts; COMPACT_CARRY_PATCH). */
  finishLog?: FinishLog;
}

/** The finished cells a run starts with, from a carry of either form. */
function carriedFinished(carry: SweepCarry | undefined): Record<string, CellStatus> {
  return carry?.finishedIds ? unpackByValue(carry.finishedIds) : { ...(carry?.finished ?? {}) };
}

function carriedFailureTypes(carry: SweepCarry | undefined): Record<string, FailureType> {
  return carry?.failureTypeIds ? unpackByValue(carry.failureTypeIds) : { ...(carry?.failureTypes ?? {}) };
}

/** One device's runner: it runs the queued cells one after another (runLane). */
interface DeviceLane {
  queue: PlannedCell[];
  /** The engine group of the cell running or last run here: its engine may be loaded. */
  busyGroup: string | null;
  /** The runner is between its first and last cell; set and cleared synchronously with the queue's checks. */
  active: boolean;
  running: Promise<void> | null;
}

interface DeviceSnapshot {
  powerModeId: number;
  clocksLocked: boolean;
}

export interface SweepSummary {
  sweepId: string;
  experiment: string;
  counts: Record<CellStatus, number>;
  cells: number;
  /** The command that prints the sweep's report. */
  reportCommand?: string;
  /** A sweep started with a baseline (regression watch): its comparison against it, recorded with the sweep. */
  regression?: BaselineComparison;
}

/** The sweep's memo in Temporal (shown in the Web UI and by `temporal workflow describe`). */
export interface SweepMemo {
  experiment: string;
  cells: number;
  counts: Record<CellStatus, number>;
  reportCommand: string;
}

const results = proxyActivities<ResultsActivities>({ ...QUICK_OPTIONS, taskQueue: SWEEP_TASK_QUEUE });
const visibility = proxyActivities<VisibilityActivities>({ ...QUICK_OPTIONS, taskQueue: SWEEP_TASK_QUEUE });
const claim = proxyActivities<ClaimActivities>({
  taskQueue: DEVICE_CLAIM_TASK_QUEUE,
  // Waits for a device worker to come online; the sweep shows this as "starting" in its progress query.
  scheduleToCloseTimeout: '30d',
  startToCloseTimeout: '1m',
});

function deviceActivities(exp: Experiment, deviceId: string) {
  return proxyActivities<DeviceWorkerActivities>(
    quickDeviceOptions(deviceTaskQueue(deviceId), exp.steps.heartbeatTimeout),
  );
}

/** One run of the sweep (a continue-as-new starts another): the experiment, its plan and what has happened. */
interface SweepRun {
  input: unknown;
  exp: Experiment;
  plan: Plan;
  /** The sweep plans in reboot epochs (POWER_EPOCHS_PATCH), from `start` once the first device was described. */
  epochs: boolean;
  start: PlanStart | undefined;
  sweepId: string;
  progress: SweepProgress;
  byId: Map<string, CellProgress>;
  /** Final status of every cell that will not run again, in this run or an earlier one. */
  finished: Record<string, CellStatus>;
  /** The failure type of finished cells that have one, in this run or an earlier one. */
  failureTypes: Record<string, FailureType>;
  /** Cells finished before this run began (carried): they are in an earlier run's finish log, not in this one's. */
  finishedBefore: ReadonlySet<string>;
  finishLog: FinishLog;
  devices: string[];
  simulated: boolean;
  before: Record<string, DeviceSnapshot>;
  /** Temporal suggested continue-as-new: shards stop starting cells and the sweep continues in a new run. */
  pausing: boolean;
  /** The sweep runs under WEB_UI_PATCH: search attributes, memo, cell metadata, skipped cells as workflows. */
  metadata: boolean;
  /** UNRUN_CELLS_PATCH: cells failed for a missing model and unstarted cells of a cancelled sweep are workflows. */
  unrunAsWorkflows: boolean;
  /** Cells whose workflow the sweep's cancellation stopped: the sweep records them (they say cancelled already). */
  interrupted: Set<string>;
  /** Custom search attributes the server has registered (empty without WEB_UI_PATCH). */
  registered: ReadonlySet<string>;
  /** Which device runs which cells (cells moved off a lost device are listed under their new device). */
  shards: Map<string, PlannedCell[]>;
  /** Probe cells of capacity searches this run has met (they are not in the plan: searches choose them). */
  probes: Map<string, PlannedCell>;
  /** The sweep runs under FAILOVER_PATCH: lost devices' groups move to the others (docs/architecture.md). */
  failover: boolean;
  /** Per device, the cells still to start, in order, and whether its runner is active. */
  lanes: Map<string, DeviceLane>;
  /** Engine groups whose engine failed, and the cell in which it did: the rest of the group is skipped. */
  failedGroups: Map<string, string>;
  lost: Map<string, LostDevice>;
  moved: Map<string, MovedFrom>;
  /** Cells of a lost device that found no live device to go to: the first device that comes back takes them. */
  orphans: PlannedCell[];
  /** The probe on each lost device's queue that notices it coming back. */
  watchers: Map<string, CancellationScope>;
  /** Errors (cancellation) of device runners started after the sweep's first wait. */
  laneErrors: unknown[];
  /** Models each device said it lacks (checkModelsPresent): moved groups avoid those devices. */
  lacks: Map<string, Set<string>>;
  /** Epoch ms at which each in-flight cell started. */
  cellStartedAt: Map<string, number>;
  /** The steps each in-flight cell has begun (from its cellStep signals), for the estimate before it finishes. */
  stepsBegun: Map<string, { step: StepName; startedAt: number }[]>;
  calibration: StepCalibration;
  /** The baseline this sweep is compared with when it finishes (regression watch), or null. */
  watch: RegressionWatch | null;
}

function zeroCounts(): Record<CellStatus, number> {
  return { succeeded: 0, failed: 0, skipped: 0, cancelled: 0 };
}

function parseOrFail(input: unknown): Experiment {
  const parsed = parseExperiment(input);
  if (!parsed.ok) {
    const lines = parsed.problems.map((p) => `${p.path}: ${p.message}`);
    throw ApplicationFailure.nonRetryable(
      `invalid experiment:\n${lines.join('\n')}`,
      FailureType.InvalidExperiment,
      parsed.problems,
    );
  }
  return parsed.experiment;
}

/** The regression watch: carried from the first run, else from the memo (a schedule's); a malformed one fails early. */
function watchOf(carry: SweepCarry | undefined): RegressionWatch | null {
  if (carry?.watch !== undefined) return carry.watch;
  const watch = watchFromMemo(workflowInfo().memo);
  if (watch !== null && 'error' in watch) {
    throw ApplicationFailure.nonRetryable(watch.error, FailureType.InvalidExperiment);
  }
  return watch;
}

function newRun(input: unknown, exp: Experiment, carry: SweepCarry | undefined, epochs: boolean): SweepRun {
  const plan = epochs ? planSweep(exp, carry?.start) : planSweepBeforeEpochs(exp);
  const finished = carriedFinished(carry);
  const sweepId = workflowInfo().workflowId;
  // Search slots are not cells: their probes join the progress as the search chooses them.
  const cells: CellProgress[] = plan.cells.filter((c) => !c.search).map((c) => ({ id: c.id, status: 'pending' }));
  const progress: SweepProgress = {
    sweepId,
    experiment: exp.name,
    // A continued run goes on with the devices it has: it is not waiting for one.
    state: carry ? 'running' : 'starting',
    devices: carry?.devices ?? [],
    total: cells.length,
    done: 0,
    counts: zeroCounts(),
    current: [],
    cells,
    remainingMs: null,
  };
  const run: SweepRun = {
    input,
    exp,
    plan,
    epochs,
    start: carry?.start,
    sweepId,
    progress,
    byId: new Map(cells.map((c) => [c.id, c])),
    finished,
    failureTypes: carriedFailureTypes(carry),
    finishedBefore: new Set(Object.keys(finished)),
    // A carry from before the finish log: its cells finished before this run's first, in no known order.
    finishLog: carry?.finishLog ?? emptyFinishLog(Object.keys(finished).length),
    devices: carry?.devices ?? [],
    simulated: carry?.simulated ?? false,
    before: { ...(carry?.before ?? {}) },
    pausing: false,
    metadata: false,
    unrunAsWorkflows: false,
    interrupted: new Set(),
    registered: new Set(),
    shards: new Map(),
    probes: new Map(),
    cellStartedAt: new Map(),
    stepsBegun: new Map(),
    calibration: carry?.calibration ?? emptyCalibration(),
    watch: watchOf(carry),
    failover: false,
    lanes: new Map(),
    failedGroups: new Map(),
    lost: new Map(Object.entries(carry?.lost ?? {})),
    moved: new Map(Object.entries(carry?.moved ?? {})),
    orphans: [],
    watchers: new Map(),
    laneErrors: [],
    lacks: new Map(),
  };
  // What earlier runs finished counts from this run's first moment: the progress never goes back across runs.
  for (const [id, status] of Object.entries(run.finished))
    if (run.byId.has(id)) markFinished(run, id, status, run.failureTypes[id]);
  for (const [id, from] of run.moved) if (run.byId.has(id)) run.byId.get(id)!.movedFrom = from;
  if (run.lost.size > 0) showLost(run);
  return run;
}

function reportCommand(sweepId: string): string {
  return `thorbench report ${sweepId}`;
}

function memo(run: SweepRun): SweepMemo {
  return {
    experiment: run.exp.name,
    cells: run.plan.cells.length,
    counts: { ...run.progress.counts },
    reportCommand: reportCommand(run.sweepId),
  };
}

/**
 * Makes the sweep findable however it was started (`temporal workflow start` sets no search attributes): the
 * experiment's attributes the server has registered, and the memo.
 */
async function describeSweep(run: SweepRun): Promise<void> {
  run.registered = new Set(await visibility.registeredSearchAttributes());
  const pairs = onlyRegistered(sweepSearchAttributes(run.exp), run.registered);
  if (pairs.length > 0) upsertSearchAttributes(pairs);
  upsertMemo({ thorbench: memo(run) });
}

/** The progress query's answer: the progress, with the time left estimated now. */
function progressNow(run: SweepRun, request: ProgressRequest | undefined): SweepProgress {
  const listed = { ...run.progress, ...listedCells(run, request) };
  const { state } = run.progress;
  // A continued run says "running" before it has dealt its cells out again: no estimate until then.
  if (state !== 'running' || run.shards.size === 0) return { ...listed, remainingMs: state === 'completed' ? 0 : null };
  const warmupPrompts = run.exp.warmup?.numPrompts ?? 0;
  // The steps cells in flight have finished count too: the first estimate needs no finished cell.
  const calibration: StepCalibration = JSON.parse(JSON.stringify(run.calibration));
  for (const c of run.plan.cells) {
    const begun = run.stepsBegun.get(c.id);
    if (begun) calibrate(calibration, plannedStepCosts(c, warmupPrompts), finishedSteps(begun));
  }
  const shards = [...run.shards.values(), run.orphans].map((cells) =>
    cells
      .filter((c) => !run.finished[c.id])
      .map((c) => ({ planned: plannedStepCosts(c, warmupPrompts), startedAt: run.cellStartedAt.get(c.id) ?? null })),
  );
  return { ...listed, remainingMs: estimateRemainingMs(shards, calibration, Date.now()) };
}

/** The cells a progress query asks for (ProgressRequest); anything else it sends gets every cell. */
function listedCells(run: SweepRun, request: ProgressRequest | undefined): Pick<SweepProgress, 'cells' | 'cellsFrom'> {
  if (request && 'cells' in request && request.cells === 'none') return { cells: [] };
  const since = request && 'finishedSince' in request ? request.finishedSince : undefined;
  if (typeof since !== 'number' || !Number.isSafeInteger(since) || since < 0) return { cells: run.progress.cells };
  const { ids, from } = finishedSince(run.finishLog, since);
  // A probe carried from an earlier run is not among this run's cells until its search meets it again.
  const cell = (id: string): CellProgress => run.byId.get(id) ?? { id, status: run.finished[id]! };
  return { cells: ids.map(cell), cellsFrom: from };
}

/** A cell began a step: the progress query says so. */
function stepStarted(run: SweepRun, s: CellStepStarted): void {
  const entry = run.progress.current.find((c) => c.cellId === s.cellId);
  if (!entry) return;
  entry.step = s.step;
  entry.stepStartedAt = s.startedAt;
  run.stepsBegun.get(s.cellId)?.push({ step: s.step, startedAt: Date.parse(s.startedAt) });
}

/** The cell is done for this sweep: count it in the progress. */
function markFinished(run: SweepRun, id: string, status: CellStatus, failureType?: FailureType): void {
  const entry = run.byId.get(id)!;
  entry.status = status;
  if (failureType) entry.failureType = run.failureTypes[id] = failureType;
  run.progress.counts[status]++;
  run.progress.done++;
  if (!run.finishedBefore.has(id)) logFinished(run.finishLog, id);
}

/** The devices this sweep runs on: the experiment's list, or whichever device worker answers first. */
async function claimDevices(exp: Experiment): Promise<{ devices: string[]; simulated: boolean | null }> {
  if (exp.device.select !== 'any') return { devices: exp.device.select, simulated: null };
  const claimed = await claim.claimDevice();
  return { devices: [claimed.deviceId], simulated: claimed.simulated };
}

/** What each device says before the first cell (its power mode and clocks), one device after another. */
async function describeDevices(exp: Experiment, devices: string[]): Promise<DeviceFacts[]> {
  const facts: DeviceFacts[] = [];
  for (const deviceId of devices) facts.push(await deviceActivities(exp, deviceId).describeDevice());
  return facts;
}

/**
 * Plans again from where the first device is, before any cell ran: the same cells, in the order that starts in its
 * reboot epoch, power mode and clocks (plan/plan.ts).
 */
function planFrom(run: SweepRun, device: DeviceFacts): void {
  run.start = {
    power: { mode: device.powerModeName, id: device.powerModeId },
    clocks: device.clocksLocked ? 'locked' : 'default',
  };
  run.plan = planSweep(run.exp, run.start);
  run.progress.cells = run.plan.cells.filter((c) => !c.search).map((c) => run.byId.get(c.id)!);
}

/** Puts each device back in the power mode and clocks it had before the sweep (steps.restoreDevice). */
async function restoreDevices(run: SweepRun): Promise<void> {
  const { exp, before } = run;
  for (const [deviceId, snap] of Object.entries(before)) {
    // A lost device is not waited for: it keeps whatever state it died in.
    if (run.lost.has(deviceId)) continue;
    const acts = deviceActivities(exp, deviceId);
    const power = await acts.ensurePowerMode({ power: { id: snap.powerModeId } });
    // A restore that needs a reboot is left to the operator: a sweep never reboots a device after it finished.
    if (power.outcome !== 'reboot-required')
      await acts.ensureClocks({ clocks: snap.clocksLocked ? 'locked' : 'default' });
  }
}

/** First run of a sweep: devices, the sweep's record, and the device state to restore at the end. */
async function beginSweep(run: SweepRun): Promise<void> {
  const claimed = await claimDevices(run.exp);
  run.devices = claimed.devices;
  if (claimed.simulated !== null) run.simulated = claimed.simulated;
  run.progress.devices = run.devices;
  await results.openSweepRecord({
    sweepId: run.sweepId,
    experimentName: run.exp.name,
    experimentJson: JSON.stringify(run.input),
    workflowId: run.sweepId,
    simulated: run.simulated,
    plannedCells: run.plan.cells.length,
    startedAt: new Date().toISOString(),
  });
  // steps.restoreDevice remembers every device's state; the plan starts where the first device is.
  const { restoreDevice } = run.exp.steps;
  const described = restoreDevice ? run.devices : run.epochs ? run.devices.slice(0, 1) : [];
  const facts = await describeDevices(run.exp, described);
  if (restoreDevice) {
    run.before = Object.fromEntries(
      described.map((d, i) => [d, { powerModeId: facts[i]!.powerModeId, clocksLocked: facts[i]!.clocksLocked }]),
    );
  }
  if (run.epochs) planFrom(run, facts[0]!);
}

/** Cells recorded as succeeded under this sweep id (an earlier, terminated run) are not run again. */
async function resumeFinished(run: SweepRun): Promise<void> {
  const { sweepId } = run;
  const succeeded = patched(COMPACT_CARRY_PATCH)
    ? unpackIds(await results.completedCellsPacked({ sweepId }))
    : await results.completedCells({ sweepId });
  for (const id of succeeded) {
    if (!run.byId.has(id) || run.finished[id]) continue;
    run.finished[id] = 'succeeded';
    markFinished(run, id, 'succeeded');
  }
}

/** Records a cell that never ran (its model is on no device, its engine group failed, or the sweep was cancelled). */
async function recordUnrun(run: SweepRun, c: PlannedCell, status: UnrunStatus, reason: UnrunReason): Promise<void> {
  const record = unrunCellRecord(run.sweepId, run.exp.name, c, status, reason, run.simulated, run.moved.get(c.id));
  await results.recordCell(record);
  run.finished[c.id] = status;
  markFinished(run, c.id, status, reason.type);
}

/**
 * Cells recorded at once (cells that never run): Temporal fails a workflow task that leaves more than 2,000 child
 * workflows or activities pending (limit.numPendingChildExecutions, limit.numPendingActivities).
 */
const RECORD_BATCH = 500;

async function inBatches<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += RECORD_BATCH) await Promise.all(items.slice(i, i + RECORD_BATCH).map(fn));
}

/**
 * Records a cell that never runs: under UNRUN_CELLS_PATCH as a workflow of its own that records itself (so the Web
 * UI lists it and search attributes find it), on the device it waited for, or none; else directly.
 */
async function recordUnrunCell(
  run: SweepRun,
  deviceId: string | null,
  c: PlannedCell,
  status: UnrunStatus,
  reason: UnrunReason,
): Promise<void> {
  if (run.unrunAsWorkflows) await runCell(run, deviceId, c, false, { ...reason, status });
  else await recordUnrun(run, c, status, reason);
}

/**
 * Runs one cell as a child workflow on a device (or, with `skip`, has it record why it did not run: then the device
 * is the one it would have run on, or none).
 */
async function runCell(
  run: SweepRun,
  deviceId: string | null,
  c: PlannedCell,
  flushCaches: boolean,
  skip?: CellInput['skip'],
): Promise<{ engineFailed: boolean; deviceLost: CellDeviceLost | null }> {
  const { exp } = run;
  const startedAt = Date.now();
  const current: CurrentCell | null =
    skip || deviceId === null
      ? null
      : { deviceId, cellId: c.id, step: 'starting', stepStartedAt: new Date(startedAt).toISOString() };
  if (current) {
    run.byId.get(c.id)!.status = 'running';
    run.progress.current.push(current);
    run.cellStartedAt.set(c.id, startedAt);
    run.stepsBegun.set(c.id, []);
  }
  const cellInput: CellInput = {
    sweepId: run.sweepId,
    experimentName: exp.name,
    // A cell on no device only records itself: it has no queue to run on.
    deviceQueue: deviceId === null ? '' : deviceTaskQueue(deviceId),
    cell: c,
    engine: exp.engine,
    harness: exp.harness,
    warmup: exp.warmup ?? null,
    flushCaches,
    timeouts: exp.steps.timeouts,
    heartbeatTimeoutMs: exp.steps.heartbeatTimeout,
    simulated: run.simulated,
    ...(skip ? { skip } : {}),
    ...(run.failover ? { failoverAfterMs: exp.device.failoverAfterMs } : {}),
    ...(run.moved.has(c.id) ? { movedFrom: run.moved.get(c.id)! } : {}),
  };
  const metadata = run.metadata
    ? {
        staticSummary: cellSummary(c, run.plan),
        staticDetails: cellDetails(c, run.plan, run.sweepId, deviceId, exp.engine),
        typedSearchAttributes: onlyRegistered(cellSearchAttributes(run.sweepId, exp.name, deviceId, c), run.registered),
      }
    : {};
  try {
    const result: CellResult = await executeChild(cell, {
      workflowId: `${run.sweepId}/${c.id}`,
      taskQueue: SWEEP_TASK_QUEUE,
      args: [cellInput],
      ...metadata,
    }).catch((err: unknown) => {
      if (isCancellation(err)) run.interrupted.add(c.id);
      throw err;
    });
    if (result.deviceLost?.rerun) {
      // Nothing recorded: the cell runs again on another device.
      run.byId.get(c.id)!.status = 'pending';
      return { engineFailed: false, deviceLost: result.deviceLost };
    }
    run.finished[c.id] = result.status;
    markFinished(run, c.id, result.status, result.failure?.type);
    const ran = (result.steps ?? []).filter((s) => s.result.kind !== 'skipped');
    calibrate(run.calibration, plannedStepCosts(c, exp.warmup?.numPrompts ?? 0), ran, Date.now() - startedAt);
    return { engineFailed: result.engineFailed, deviceLost: result.deviceLost ?? null };
  } finally {
    if (current) run.progress.current.splice(run.progress.current.indexOf(current), 1);
    run.cellStartedAt.delete(c.id);
    run.stepsBegun.delete(c.id);
  }
}

/** A probe cell joins the progress (and the cells a cancellation records) when its search chooses it. */
function trackProbe(run: SweepRun, c: PlannedCell): void {
  if (run.byId.has(c.id)) return;
  run.probes.set(c.id, c);
  const entry: CellProgress = { id: c.id, status: 'pending' };
  run.progress.cells.push(entry);
  run.byId.set(c.id, entry);
  run.progress.total++;
  const status = run.finished[c.id];
  if (status) markFinished(run, c.id, status);
}

/**
 * Searches one configuration's capacity (plan/search.ts): probe after probe on the running engine, each probe a
 * cell per repeat, judged from what the results store recorded. Probes recorded as succeeded (a sweep restarted
 * under its id) are read back, not run again; a continue-as-new mid-search starts the search over in the new run,
 * which reads back every probe this run finished.
 */
async function runSearch(
  run: SweepRun,
  deviceId: string,
  slot: PlannedCell,
  flush: boolean,
): Promise<{ engineFailed: boolean; deviceLost: CellDeviceLost | null }> {
  // Older code refused experiments with a search (the schema did not know it), so every history here is patched.
  if (!patched(SLO_SEARCH_PATCH))
    throw ApplicationFailure.nonRetryable('capacity search in a sweep started before searches existed');
  const spec = slot.scenario.search!;
  const outcomes: ProbeOutcome[] = [];
  const state: SearchProgress = { slot: slot.id, probes: outcomes };
  (run.progress.searches ??= []).push(state);
  let flushNext = flush;
  for (;;) {
    if (run.pausing) return { engineFailed: false, deviceLost: null };
    const step = nextProbe(spec, outcomes);
    if (step.kind === 'done') {
      state.capacity = step.capacity;
      break;
    }
    const cells = probeCells(slot, step.value);
    const query = { sweepId: run.sweepId, cells: cells.map((c) => ({ cellId: c.id, repeat: c.repeat })) };
    let records = await results.probeRecords(query);
    let ran = false;
    for (const [i, c] of cells.entries()) {
      if (records[i]!.succeeded && !run.finished[c.id]) run.finished[c.id] = 'succeeded';
      trackProbe(run, c);
      if (run.finished[c.id]) continue;
      const { engineFailed, deviceLost } = await runCell(run, deviceId, c, flushNext);
      flushNext = false;
      ran = true;
      if (engineFailed) {
        run.finished[slot.id] = 'failed';
        return { engineFailed: true, deviceLost: null };
      }
      // The whole search moves with its engine group; the new device reads back the probes recorded so far.
      if (deviceLost) return { engineFailed: false, deviceLost: { ...deviceLost, rerun: true } };
      if (workflowInfo().continueAsNewSuggested) run.pausing = true;
    }
    if (ran) records = await results.probeRecords(query);
    const repeats = records.map((r) => ({ cellId: r.cellId, metrics: r.succeeded ? r.metrics : null }));
    outcomes.push({ value: step.value, pass: judgeProbe(spec, repeats).pass });
  }
  // The slot ends its engine group, but which probe came last was only known now.
  if (slot.stopsEngine) await deviceActivities(run.exp, deviceId).teardownAllEngines();
  run.finished[slot.id] = 'succeeded';
  return { engineFailed: false, deviceLost: null };
}

/**
 * Runs a device's queued cells one after another. After an engine failure the rest of its group is recorded as
 * skipped; when Temporal suggests continue-as-new the runner stops before its next cell; when the device is lost
 * (FAILOVER_PATCH) its unfinished cells move to the other devices.
 */
async function runLane(run: SweepRun, deviceId: string): Promise<void> {
  const lane = run.lanes.get(deviceId)!;
  lane.active = true;
  let firstRun = true;
  for (;;) {
    const c = lane.queue[0];
    if (c === undefined || run.pausing) {
      lane.active = false;
      return;
    }
    lane.queue.shift();
    if (run.finished[c.id]) continue;
    const brokenBy = run.failedGroups.get(c.engineGroup);
    if (brokenBy && c.search) {
      run.finished[c.id] = 'skipped'; // no probe ran, so there is nothing to record
      continue;
    }
    if (brokenBy) {
      const reason = {
        type: 'EngineFailed' as const,
        message: `not run: the engine for ${c.engineGroup} failed in cell ${brokenBy}`,
      };
      // A skipped cell is a workflow of its own too, so the Web UI lists it with its reason and attributes.
      if (run.metadata) await runCell(run, deviceId, c, false, reason);
      else await recordUnrun(run, c, 'skipped', reason);
      continue;
    }
    // A resumed runner may find no engine running (reboot, crash), and a group moved here mid-way has none yet:
    // flush before their first start too.
    const newGroup = run.failover && lane.busyGroup !== c.engineGroup;
    const flush = run.exp.steps.flushCaches && (c.startsEngine || firstRun || newGroup);
    firstRun = false;
    lane.busyGroup = c.engineGroup;
    const { engineFailed, deviceLost } = c.search
      ? await runSearch(run, deviceId, c, flush)
      : await runCell(run, deviceId, c, flush);
    if (engineFailed) run.failedGroups.set(c.engineGroup, c.id);
    if (deviceLost) {
      lane.active = false;
      loseDevice(run, deviceId, deviceLost, deviceLost.rerun ? [c] : []);
      return;
    }
    if (workflowInfo().continueAsNewSuggested) run.pausing = true;
  }
}

/** Starts the device's runner unless it is active; errors (cancellation) surface from runLanes. */
function startLane(run: SweepRun, deviceId: string): void {
  const lane = run.lanes.get(deviceId)!;
  if (lane.active || lane.queue.length === 0) return;
  lane.running = runLane(run, deviceId).catch((err: unknown) => {
    lane.active = false;
    run.laneErrors.push(err);
  });
}

/** Appends cells (whole engine groups) to a device's queue and makes sure its runner runs. */
function enqueue(run: SweepRun, deviceId: string, cells: PlannedCell[]): void {
  run.lanes.get(deviceId)!.queue.push(...cells);
  run.shards.get(deviceId)!.push(...cells);
  startLane(run, deviceId);
}

/** Takes cells off a device's queue (and its shard, for the estimate). */
function unqueue(run: SweepRun, deviceId: string, cells: readonly PlannedCell[]): void {
  const ids = new Set(cells.map((c) => c.id));
  const lane = run.lanes.get(deviceId)!;
  lane.queue = lane.queue.filter((c) => !ids.has(c.id));
  run.shards.set(
    deviceId,
    run.shards.get(deviceId)!.filter((c) => !ids.has(c.id)),
  );
}

function liveLanes(run: SweepRun, except?: string): Lane[] {
  return run.devices
    .filter((d) => !run.lost.has(d) && d !== except)
    .map((d) => ({ deviceId: d, pending: run.lanes.get(d)!.queue, busyGroup: run.lanes.get(d)!.busyGroup }));
}

/** Deals cells (whole engine groups) to the live devices, or keeps them for the first device that comes back. */
function holdsModel(run: SweepRun): HoldsModel {
  return (deviceId, modelId) => !run.lacks.get(deviceId)?.has(modelId);
}

function dispatch(run: SweepRun, cells: PlannedCell[]): void {
  const moved = moveGroups(cells, liveLanes(run), holdsModel(run));
  if (moved.size === 0) run.orphans.push(...cells);
  for (const [deviceId, groupCells] of moved) enqueue(run, deviceId, groupCells);
}

function showLost(run: SweepRun): void {
  run.progress.lostDevices = [...run.lost.values()];
}

function markMoved(run: SweepRun, cells: readonly PlannedCell[], from: MovedFrom): void {
  for (const c of cells) {
    run.moved.set(c.id, from);
    run.byId.get(c.id)!.movedFrom = from;
  }
}

/**
 * The device stopped picking up work: its unfinished cells (`interrupted`, the cell it lost, first) move to the
 * live devices, each recording which device it left and why, and a probe waits for the device to come back.
 */
function loseDevice(run: SweepRun, deviceId: string, lost: CellDeviceLost, interrupted: PlannedCell[]): void {
  const at = new Date().toISOString();
  const reason = `${lost.message} (${FailureType.DeviceLost})`;
  run.lost.set(deviceId, { deviceId, since: at, reason });
  showLost(run);
  const lane = run.lanes.get(deviceId)!;
  const left = [...interrupted, ...lane.queue].filter((c) => !run.finished[c.id]);
  lane.busyGroup = null;
  unqueue(run, deviceId, [...lane.queue, ...interrupted]);
  markMoved(run, left, { deviceId, reason, at });
  dispatch(run, left);
  watchForReturn(run, deviceId);
}

/**
 * Waits, on the lost device's own queue, for its worker to take a describeDevice call: then the device is back and
 * takes work again. Cancelled when the sweep ends or continues as new.
 */
function watchForReturn(run: SweepRun, deviceId: string): void {
  const probe = proxyActivities<DeviceWorkerActivities>({
    taskQueue: deviceTaskQueue(deviceId),
    startToCloseTimeout: '2m',
    retry: { initialInterval: '2s', maximumInterval: '1m' },
    ...(run.metadata ? { summary: `is ${deviceId} back?` } : {}),
  });
  const scope = new CancellationScope();
  run.watchers.set(deviceId, scope);
  // Any answer, even an error, comes from a worker of the device: it is back.
  scope
    .run(() => probe.describeDevice())
    .then(
      () => deviceBack(run, deviceId),
      (err: unknown) => {
        if (!isCancellation(err)) deviceBack(run, deviceId);
      },
    );
}

function stopWatching(run: SweepRun): void {
  for (const scope of run.watchers.values()) scope.cancel();
  run.watchers.clear();
}

/** A lost device answered again: it takes the cells nobody could run, else a fair share of unstarted groups. */
function deviceBack(run: SweepRun, deviceId: string): void {
  run.watchers.delete(deviceId);
  run.lost.delete(deviceId);
  showLost(run);
  if (run.orphans.length > 0) {
    dispatch(run, run.orphans.splice(0));
    return;
  }
  const lane = run.lanes.get(deviceId)!;
  const returning: Lane = { deviceId, pending: lane.queue, busyGroup: lane.busyGroup };
  for (const t of groupsForReturningDevice(returning, liveLanes(run, deviceId), holdsModel(run))) {
    unqueue(run, t.from, t.cells);
    enqueue(run, deviceId, t.cells);
  }
}

/** Runs every device's runner until all cells are done (or the sweep pauses for continue-as-new). */
async function runLanes(run: SweepRun): Promise<void> {
  for (;;) {
    const running = [...run.lanes.values()].filter((l) => l.active).map((l) => l.running);
    if (running.length > 0) {
      await Promise.all(running);
      continue;
    }
    if (run.laneErrors.length > 0) throw run.laneErrors[0];
    if (run.orphans.length === 0 || run.pausing) return;
    // Every device is lost: wait for one to come back.
    await condition(() => run.orphans.length === 0);
  }
}

/**
 * The devices' queues at the start of a run: each device its shard; a device lost in an earlier run (carried across
 * continue-as-new) hands its unfinished cells to the others again and is watched for its return.
 */
function startLanes(run: SweepRun): void {
  for (const d of run.devices) run.lanes.set(d, { queue: [], busyGroup: null, active: false, running: null });
  for (const [d, cells] of run.shards) if (!run.lost.has(d)) run.lanes.get(d)!.queue.push(...cells);
  for (const d of run.lost.keys()) {
    const left = run.shards.get(d)!.filter((c) => !run.finished[c.id]);
    run.shards.set(d, []);
    for (const c of left) {
      const from = run.moved.get(c.id) ?? { deviceId: d, reason: run.lost.get(d)!.reason, at: run.lost.get(d)!.since };
      markMoved(run, [c], from);
    }
    dispatch(run, left);
  }
  for (const d of run.devices) startLane(run, d);
  for (const d of run.lost.keys()) watchForReturn(run, d);
  showLost(run);
}

/**
 * The device whose queue a cell that never started waited in (a probe: the device running its search), or null
 * when no device could take it.
 */
function waitingOn(run: SweepRun, c: PlannedCell): string | null {
  for (const [deviceId, lane] of run.lanes)
    if (lane.queue.some((x) => x.id === c.id) || (run.probes.has(c.id) && lane.busyGroup === c.engineGroup))
      return deviceId;
  return null;
}

/** Cancelled (`thorbench cancel`): record what never ran, then leave the devices clean and as they were. */
async function cancelSweep(run: SweepRun): Promise<void> {
  await CancellationScope.nonCancellable(async () => {
    const reason: UnrunReason = { type: FailureType.Cancelled, message: 'sweep cancelled before this cell finished' };
    const unrun = [...run.plan.cells.filter((x) => !x.search), ...run.probes.values()].filter(
      (c) => !run.finished[c.id],
    );
    if (run.unrunAsWorkflows) {
      // Together: a large sweep cancelled early has many cells to record. A cell whose workflow was stopped
      // mid-way says cancelled already; only its record is missing.
      await inBatches(unrun, (c) =>
        run.interrupted.has(c.id)
          ? recordUnrun(run, c, 'cancelled', reason)
          : recordUnrunCell(run, waitingOn(run, c), c, 'cancelled', reason),
      );
    } else for (const c of unrun) await recordUnrun(run, c, 'cancelled', reason);
    for (const deviceId of run.devices)
      if (!run.lost.has(deviceId)) await deviceActivities(run.exp, deviceId).teardownAllEngines();
    await restoreDevices(run);
    run.progress.state = 'cancelled';
    if (run.metadata) upsertMemo({ thorbench: memo(run) });
    await results.finishSweepRecord({ sweepId: run.sweepId, state: 'cancelled', finishedAt: new Date().toISOString() });
  });
}

/** Continues in a new run (fresh history) when the shards paused with cells left, carrying what is done. */
async function continueIfPaused(run: SweepRun): Promise<void> {
  if (!run.pausing || run.plan.cells.every((c) => run.finished[c.id])) return;
  // The finished cells are most of the carry: packed, a cell takes a few bytes (plan/packed-ids.ts).
  const done = patched(COMPACT_CARRY_PATCH)
    ? {
        finishedIds: packByValue(run.finished),
        failureTypeIds: packByValue(run.failureTypes),
        finishLog: carriedFinishLog(run.finishLog),
      }
    : { finished: run.finished, failureTypes: run.failureTypes };
  const carry: SweepCarry = {
    ...done,
    devices: run.devices,
    simulated: run.simulated,
    before: run.before,
    calibration: run.calibration,
    watch: run.watch,
    ...(run.start ? { start: run.start } : {}),
    // Finished moved cells too: the progress query keeps saying they moved.
    ...(run.failover ? { lost: Object.fromEntries(run.lost), moved: Object.fromEntries(run.moved) } : {}),
  };
  stopWatching(run);
  await continueAsNew<typeof sweep>(run.input, carry);
}

/**
 * Deals the engine groups out to the devices. A group goes only to a device that holds its model; cells of a model
 * no device holds fail before any engine start (plan/model-eligibility.ts). Sweeps started before this check
 * replay without it.
 */
async function assignShards(run: SweepRun): Promise<Map<string, PlannedCell[]>> {
  if (!patched(MODELS_PRESENT_PATCH)) return shardByDevice(run.plan.cells, run.devices);
  const models = plannedModels(run.plan.cells);
  const { modelsDir } = run.exp.engine;
  // A device lost in an earlier run is not asked (nothing would answer); it is taken to hold every model.
  const asked = run.devices.filter((d) => !run.lost.has(d));
  const presence = await Promise.all(
    asked.map((d) => deviceActivities(run.exp, d).checkModelsPresent({ modelsDir, models })),
  );
  for (const p of presence) run.lacks.set(p.deviceId, new Set(p.missing.map((m) => m.id)));
  const assigned = assignModelGroups(run.plan.cells, run.devices, presence, modelsDir);
  const refused = assigned.refused.filter(({ cell: c }) => !run.finished[c.id]);
  const fail = ({ cell: c, reason }: (typeof refused)[number]) =>
    recordUnrunCell(run, null, c, 'failed', { type: FailureType.ModelNotFound, message: reason });
  if (run.unrunAsWorkflows) await inBatches(refused, fail);
  else for (const r of refused) await fail(r);
  return assigned.shards;
}

/**
 * Regression watch: compares the finished sweep with its baseline (the verdict is recorded with the sweep) and marks
 * the sweep with ThorbenchRegression and a memo entry, so regressed sweeps are one query away.
 */
async function compareWithBaseline(run: SweepRun, watch: RegressionWatch): Promise<BaselineComparison> {
  const outcome = await results.compareWithBaseline({ sweepId: run.sweepId, ...watch });
  if (outcome.kind === 'compared') {
    const { regressions, improvements, imageBump } = outcome.comparison;
    const flag = { key: SEARCH_ATTRIBUTES.regression, value: regressions.length > 0 };
    const pairs = onlyRegistered([flag], run.registered);
    if (pairs.length > 0) upsertSearchAttributes(pairs);
    upsertMemo({
      thorbenchRegression: {
        baseline: watch.baseline,
        regressions: regressions.length,
        improvements: improvements.length,
        imageBump,
      },
    });
  } else {
    upsertMemo({ thorbenchRegression: { baseline: watch.baseline, error: outcome.message } });
  }
  return outcome;
}

export async function sweep(input: unknown, carry?: SweepCarry): Promise<SweepSummary> {
  const run = newRun(input, parseOrFail(input), carry, patched(POWER_EPOCHS_PATCH));
  setHandler(progressQuery, (request) => progressNow(run, request));
  setHandler(cellStepSignal, (s) => stepStarted(run, s));
  run.metadata = patched(WEB_UI_PATCH);
  run.failover = patched(FAILOVER_PATCH);
  run.unrunAsWorkflows = run.metadata && patched(UNRUN_CELLS_PATCH);

  if (run.metadata) await describeSweep(run);
  if (run.devices.length === 0) await beginSweep(run);
  await resumeFinished(run);
  run.shards = await assignShards(run);
  run.progress.state = 'running';

  try {
    if (run.failover) {
      startLanes(run);
      await runLanes(run);
    } else {
      // Sweeps started before failover: one runner per shard, exactly as they were started.
      for (const [d, cells] of run.shards)
        run.lanes.set(d, { queue: [...cells], busyGroup: null, active: false, running: null });
      await Promise.all(run.devices.filter((d) => run.lanes.has(d)).map((d) => runLane(run, d)));
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    await cancelSweep(run);
    throw err;
  }
  stopWatching(run);
  await continueIfPaused(run);

  await restoreDevices(run);
  run.progress.state = 'completed';
  if (run.metadata) upsertMemo({ thorbench: memo(run) });
  await results.finishSweepRecord({ sweepId: run.sweepId, state: 'completed', finishedAt: new Date().toISOString() });
  const summary: SweepSummary = {
    sweepId: run.sweepId,
    experiment: run.exp.name,
    counts: { ...run.progress.counts },
    cells: run.plan.cells.length,
    reportCommand: reportCommand(run.sweepId),
  };
  if (run.watch && patched(REGRESSION_WATCH_PATCH)) summary.regression = await compareWithBaseline(run, run.watch);
  return summary;
}
