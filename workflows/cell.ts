/**
 * One cell of the matrix, as a child workflow (its own history, so large sweeps stay small): the step pipeline of
 * docs/architecture.md ("The cell pipeline"), each step an activity on the device's task queue, then one record on
 * the results queue. A failed step ends the cell as `failed` with its typed reason; it never fails the sweep.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  TimeoutFailure,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { DeviceWorkerActivities } from '../activities/index.js';
import type { ResultsActivities } from '../activities/results.js';
import type { EngineFailureDetails } from '../activities/failures.js';
import type { EnsurePowerModeResult } from '../activities/device.js';
import type { PlannedCell } from '../plan/plan.js';
import type { EngineSpec, HarnessSpec, StepName, StepTimeouts, WarmupSpec } from '../schema/experiment.js';
import {
  type CellRecord,
  type DeviceFacts,
  ENGINE_FAILURE_TYPES,
  type EnergyStatus,
  type EngineFacts,
  type FailureInfo,
  FailureType,
  type MovedFrom,
  type StepResult,
  type StepTiming,
  type ThermalSummary,
  asFailureType,
} from '../schema/outcome.js';
import type { UnjudgedCellRecord } from '../schema/verdict.js';
import type { BenchmarkMetrics } from '../schema/metrics.js';
import { type UnrunStatus, cellIdentity, unrunCellRecord } from './cell-record.js';
import { cellStepSignal } from './messages.js';
import { LEAN_CELL_PATCH, READ_BACK_PATCH, WARMUP_AFTER_POWER_CHANGE_PATCH, WEB_UI_PATCH } from './patches.js';
import { type CellVisibilityStatus, SEARCH_ATTRIBUTES } from './search-attributes.js';
import { QUICK_OPTIONS, quickDeviceOptions, stepOptions, stepTimeoutMs } from './step-options.js';
import { stepSummary } from './summaries.js';
import { SWEEP_TASK_QUEUE } from './task-queues.js';

export interface CellInput {
  sweepId: string;
  experimentName: string;
  deviceQueue: string;
  cell: PlannedCell;
  engine: EngineSpec;
  /** The experiment's harness section; absent in histories recorded before the vllm harness (builtin then). */
  harness?: HarnessSpec;
  warmup: WarmupSpec | null;
  flushCaches: boolean;
  timeouts: StepTimeouts;
  heartbeatTimeoutMs: number;
  /** The device is the simulator (from claimDevice): every record says so, even when describeDevice failed. */
  simulated: boolean;
  /** How often a rebooting device is probed (default 10 s). */
  rebootPollMs?: number;
  /**
   * Not run: the sweep decided so, and the cell only records itself with this reason, as `status` (absent: skipped,
   * its engine group failed; under UNRUN_CELLS_PATCH also failed, its model is on no device, and cancelled).
   */
  skip?: { type: FailureType; message: string; status?: UnrunStatus };
  /**
   * Set by sweeps under FAILOVER_PATCH: a device step not picked up within this many ms fails as DeviceLost, and
   * the cell reports the loss (CellResult.deviceLost) instead of recording a failure (docs/architecture.md,
   * "Failover"). Absent: steps wait for the device however long it takes.
   */
  failoverAfterMs?: number;
  /** The cell was moved here off a lost device: its record says so. */
  movedFrom?: MovedFrom;
}

/** The cell's device stopped picking up its steps (FailureType.DeviceLost). */
export interface CellDeviceLost {
  step: StepName;
  message: string;
  /**
   * true: nothing was recorded (the benchmark never reported back), so the sweep runs the cell again elsewhere.
   * false: the benchmark's result had arrived and the cell is recorded; only a step after it found the device gone.
   */
  rerun: boolean;
}

/** The numbers a reader looks at first, under vLLM's names; energy only where the board's rail was measured. */
export type HeadlineMetrics = Pick<
  BenchmarkMetrics,
  'request_throughput' | 'output_throughput' | 'mean_ttft_ms' | 'p99_ttft_ms' | 'mean_tpot_ms'
> & {
  energy_per_output_token_j: number | null;
};

export interface CellResult {
  cellId: string;
  status: CellRecord['status'];
  failure: FailureInfo | null;
  /** The engine failed (crash, OOM, never healthy, model missing): later cells of its group would fail alike. */
  engineFailed: boolean;
  /** Headline metrics of a cell that ran its benchmark, else null. */
  headline?: HeadlineMetrics | null;
  /** The benchmark's full result (metrics, per-request data beside it), on the device's results directory. */
  reportPath?: string | null;
  /** What each step took, for the sweep's estimate of the time left. */
  steps?: StepTiming[];
  /** The device was lost during the cell (only with CellInput.failoverAfterMs). */
  deviceLost?: CellDeviceLost;
}

export function headlineMetrics(m: BenchmarkMetrics): HeadlineMetrics {
  return {
    request_throughput: m.request_throughput,
    output_throughput: m.output_throughput,
    mean_ttft_ms: m.mean_ttft_ms,
    p99_ttft_ms: m.p99_ttft_ms,
    mean_tpot_ms: m.mean_tpot_ms,
    energy_per_output_token_j: m.energy_per_output_token_j ?? null,
  };
}

const DEFAULT_REBOOT_POLL_MS = 10_000;

/**
 * Under LEAN_CELL_PATCH a step is announced to the sweep only once it has run this long: each announcement (a
 * signal) costs both workflows a workflow task, and a shorter step is over before the progress shown every second
 * would name it (docs/architecture.md, "Orchestration cost").
 */
export const ANNOUNCE_AFTER_MS = 500;

/** What a cell does beyond its steps, by the patches it started under. */
interface CellMode {
  /** WEB_UI_PATCH: summaries, step notifications to the sweep, search attributes. */
  metadata: boolean;
  /** LEAN_CELL_PATCH: late step notifications, the record written by a local activity. */
  lean: boolean;
}

/**
 * The results activities of a cell. Under LEAN_CELL_PATCH recordCell runs as a local activity: on the sweep worker
 * that runs the cell (which serves the results queue too), inside the workflow task that completes the cell, instead
 * of a round trip through the results queue. Recording is an idempotent upsert, so a workflow task retried after a
 * crash records the same row again, never a second one.
 */
function resultsActivities(mode: CellMode): Pick<ResultsActivities, 'recordCell'> {
  return mode.lean
    ? proxyLocalActivities<ResultsActivities>(QUICK_OPTIONS)
    : proxyActivities<ResultsActivities>({ ...QUICK_OPTIONS, taskQueue: SWEEP_TASK_QUEUE });
}

/** A step's activity has the step's name, except the engine's teardown (its activity name predates the step's). */
type StepActivity<S extends StepName> = S extends 'teardown'
  ? 'teardownEngine'
  : S extends keyof DeviceWorkerActivities
    ? S
    : never;
type ActivityOf<S extends StepName> = DeviceWorkerActivities[StepActivity<S>];

/** A step failed: its typed reason, and the engine's exit status and log tail when the engine was the cause. */
export class StepFailed extends Error {
  constructor(
    readonly info: FailureInfo,
    readonly engine: EngineFailureDetails | null,
  ) {
    super(info.message);
  }
}

/** A failed activity as the cell records it: a typed reason, whatever the activity threw. */
export function describeFailure(step: StepName, err: unknown): StepFailed {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const details = (cause.details?.[0] ?? null) as EngineFailureDetails | null;
    const type = asFailureType(cause.type);
    // An unclassified error keeps its own name in the message, so the report still says what it was.
    const message = type === FailureType.Unexpected && cause.type ? `${cause.type}: ${cause.message}` : cause.message;
    return new StepFailed({ type, message, retryable: !cause.nonRetryable, step }, details);
  }
  if (cause instanceof TimeoutFailure && cause.timeoutType === 'SCHEDULE_TO_START') {
    // Only device steps of a failover sweep have this timeout: no worker of the device took the step in time.
    const message = `the device's worker did not pick up ${step} in time (schedule-to-start timeout)`;
    return new StepFailed({ type: FailureType.DeviceLost, message, retryable: false, step }, null);
  }
  if (cause instanceof TimeoutFailure) {
    return new StepFailed(
      { type: FailureType.StepTimeout, message: `${step} timed out (${cause.timeoutType})`, retryable: true, step },
      null,
    );
  }
  const message = cause instanceof Error ? cause.message : String(cause);
  return new StepFailed({ type: FailureType.Unexpected, message, retryable: true, step }, null);
}

/** Runs the steps of one cell and keeps their timings; a failed step throws StepFailed. */
class Steps {
  readonly timings: StepTiming[] = [];
  /** The first step that found the device lost (DeviceLost), if any. */
  lost: { step: StepName; message: string } | null = null;

  constructor(
    private readonly input: CellInput,
    private readonly mode: CellMode,
  ) {}

  /** Runs a step's own activity on the device queue, with the step's timeout and retry policy. */
  activity<S extends StepName>(
    name: S,
    ...args: Parameters<ActivityOf<S>>
  ): Promise<Awaited<ReturnType<ActivityOf<S>>>> {
    const { input } = this;
    const options = {
      ...stepOptions(name, input.timeouts, input.deviceQueue, input.heartbeatTimeoutMs, input.failoverAfterMs),
      ...(this.mode.metadata ? { summary: stepSummary(name, input.cell, input.engine, input.warmup) } : {}),
    };
    const acts = proxyActivities<DeviceWorkerActivities>(options) as unknown as Record<
      string,
      (...a: unknown[]) => Promise<unknown>
    >;
    const activityName = name === 'teardown' ? 'teardownEngine' : name;
    return this.run(name, () => acts[activityName]!(...args) as Promise<Awaited<ReturnType<ActivityOf<S>>>>);
  }

  /** Runs a step made of more than one activity. */
  async run<T>(name: StepName, fn: () => Promise<T>): Promise<T> {
    const t0 = Date.now();
    const announcement = this.mode.metadata ? this.announce(name, t0) : null;
    try {
      const out = await fn();
      this.record(name, t0, { kind: 'done' });
      return out;
    } catch (err) {
      if (isCancellation(err)) throw err;
      const failure = describeFailure(name, err);
      if (failure.info.type === FailureType.DeviceLost) {
        const seconds = Math.round((this.input.failoverAfterMs ?? 0) / 1000);
        failure.info.message = `no worker of ${this.input.deviceQueue} picked up ${name} within ${seconds} s`;
        this.lost ??= { step: name, message: failure.info.message };
      }
      this.record(name, t0, { kind: 'failed', failure: failure.info.type });
      throw failure;
    } finally {
      announcement?.cancel();
    }
  }

  /**
   * Tells the Web UI (current details) and the sweep (its `progress` query) which step runs since when; under
   * LEAN_CELL_PATCH the sweep only once the step has run for ANNOUNCE_AFTER_MS. Returns the pending announcement,
   * which the end of the step cancels.
   */
  private announce(step: StepName, t0: number): CancellationScope | null {
    const startedAt = new Date(t0).toISOString();
    setCurrentDetails(`**${step}** since ${startedAt}`);
    const parent = workflowInfo().parent;
    if (!parent) return null;
    // Fire and forget: a sweep that is gone (terminated) must not fail its cell.
    const signal = () =>
      getExternalWorkflowHandle(parent.workflowId)
        .signal(cellStepSignal, { cellId: this.input.cell.id, step, startedAt })
        .catch(() => undefined);
    if (!this.mode.lean) {
      void signal();
      return null;
    }
    const pending = new CancellationScope();
    pending.run(() => sleep(ANNOUNCE_AFTER_MS)).then(signal, () => undefined);
    return pending;
  }

  skip(name: StepName, reason: string): void {
    this.record(name, Date.now(), { kind: 'skipped', reason });
  }

  private record(step: StepName, t0: number, result: StepResult): void {
    this.timings.push({ step, startedAt: new Date(t0).toISOString(), durationMs: Date.now() - t0, result });
  }
}

/**
 * Switches into a power mode that needs a reboot: answers nvpmodel's prompt (which reboots the device and kills its
 * worker), then probes until the worker reports a new boot in the requested mode, or fails at the step's deadline.
 */
async function rebootIntoPowerMode(
  input: CellInput,
  power: EnsurePowerModeResult,
  { metadata }: CellMode,
): Promise<void> {
  const deadlineMs = stepTimeoutMs('rebootForPowerMode', input.timeouts);
  const reboot = proxyActivities<DeviceWorkerActivities>({
    taskQueue: input.deviceQueue,
    startToCloseTimeout: '5m',
    // The reboot kills the worker mid-activity: a short heartbeat timeout turns that into a quick, idempotent retry.
    heartbeatTimeout: input.heartbeatTimeoutMs,
    retry: { initialInterval: '5s', maximumAttempts: 30 },
    ...(metadata ? { summary: `reboot: switch to ${power.to.name}, confirming nvpmodel's prompt` } : {}),
  });
  const probe = proxyActivities<DeviceWorkerActivities>({
    ...quickDeviceOptions(input.deviceQueue, input.heartbeatTimeoutMs),
    ...(metadata ? { summary: `probe: back in ${power.to.name} on a new boot?` } : {}),
  });
  await reboot.switchPowerModeWithReboot({ modeId: power.to.id, bootIdBefore: power.bootId });
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const seen = await probe.probeAfterReboot().catch(() => null);
    if (seen && seen.bootId !== power.bootId && seen.powerMode.id === power.to.id) return;
    if (Date.now() > deadline) {
      throw ApplicationFailure.nonRetryable(
        `device did not come back in ${power.to.name} within ${Math.round(deadlineMs / 1000)} s after the reboot`,
        FailureType.RebootRequired,
      );
    }
    await sleep(input.rebootPollMs ?? DEFAULT_REBOOT_POLL_MS);
  }
}

/** Keeps `ThorbenchCellStatus` current, when the sweep gave the cell its search attributes. */
function statusTracker(metadata: boolean): (status: CellVisibilityStatus) => void {
  const tracked = metadata && workflowInfo().typedSearchAttributes.get(SEARCH_ATTRIBUTES.cellStatus) !== undefined;
  return (status) => {
    if (tracked) upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.cellStatus, value: status }]);
  };
}

/** A cell the sweep decided not to run: recorded as skipped (or the status the sweep gave) with the sweep's reason. */
async function recordUnrun(
  input: CellInput,
  skip: NonNullable<CellInput['skip']>,
  mode: CellMode,
): Promise<CellResult> {
  const results = resultsActivities(mode);
  const { status = 'skipped', ...reason } = skip;
  const record = unrunCellRecord(
    input.sweepId,
    input.experimentName,
    input.cell,
    status,
    reason,
    input.simulated,
    input.movedFrom,
  );
  await results.recordCell(record);
  return {
    cellId: input.cell.id,
    status,
    failure: record.failure,
    engineFailed: false,
    headline: null,
    reportPath: null,
    steps: [],
  };
}

export async function cell(input: CellInput): Promise<CellResult> {
  const metadata = patched(WEB_UI_PATCH);
  const mode: CellMode = { metadata, lean: patched(LEAN_CELL_PATCH) };
  const setStatus = statusTracker(metadata);
  try {
    if (input.skip) {
      const result = await recordUnrun(input, input.skip, mode);
      setStatus(result.status);
      return result;
    }
    setStatus('running');
    const result = await runSteps(input, mode);
    setStatus(result.status);
    return result;
  } catch (err) {
    if (isCancellation(err)) setStatus('cancelled');
    throw err;
  }
}

async function runSteps(input: CellInput, mode: CellMode): Promise<CellResult> {
  const { cell: c } = input;
  const results = resultsActivities(mode);
  const steps = new Steps(input, mode);

  const startedAt = new Date().toISOString();
  let metrics: BenchmarkMetrics | null = null;
  let harness: CellRecord['harness'] = null;
  let device: DeviceFacts | null = null;
  let engineFacts: EngineFacts | null = null;
  let artifactsDir: string | null = null;
  let containerName: string | null = null;
  let energy: EnergyStatus | null = null;
  let thermal: ThermalSummary | null = null;

  let failure: StepFailed | null = null;
  try {
    if (input.flushCaches) await steps.activity('flushCaches');
    else steps.skip('flushCaches', c.startsEngine ? 'disabled by steps.flushCaches' : 'engine already loaded');

    const power = await steps.activity('ensurePowerMode', { power: c.power });
    if (power.outcome === 'reboot-required')
      await steps.run('rebootForPowerMode', () => rebootIntoPowerMode(input, power, mode));

    await steps.activity('ensureClocks', { clocks: c.clocks });
    device = await steps.activity('describeDevice');

    const engine = await steps.activity('startEngine', {
      sweepId: input.sweepId,
      cellId: c.id,
      engineGroup: c.engineGroup,
      engine: input.engine,
      model: c.model,
    });
    containerName = engine.containerName;
    engineFacts = engine.facts;
    const endpoint = { containerName, port: input.engine.port, servedName: c.model.servedName };
    const harnessInput = { ...endpoint, harness: input.harness, modelPath: c.model.path };

    // The activity gives up a little before the step's own timeout, so the failure says why it never got ready.
    const healthTimeoutMs = Math.max(1_000, stepTimeoutMs('waitForHealth', input.timeouts) - 5_000);
    const health = await steps.activity('waitForHealth', { ...endpoint, timeoutMs: healthTimeoutMs });
    engineFacts = { ...engineFacts, version: health.version ?? null };

    // A fresh engine warms up; so does one that kept serving while the power mode changed under it (reboot
    // epochs, plan/plan.ts): the device says it switched, or the plan does (a retried switch finds it done).
    const warmUp =
      engine.started ||
      ((power.outcome !== 'already' || c.changesPowerMode) && patched(WARMUP_AFTER_POWER_CHANGE_PATCH));
    if (warmUp && input.warmup && input.warmup.numPrompts > 0)
      await steps.activity('warmup', { ...harnessInput, warmup: input.warmup });
    else steps.skip('warmup', warmUp ? 'no warmup configured' : 'engine already warm');

    const bench = await steps.activity('benchmark', {
      ...harnessInput,
      sweepId: input.sweepId,
      cellId: c.id,
      scenario: c.scenario,
      repeat: c.repeat,
    });
    metrics = bench.metrics;
    harness = bench.harness;
    artifactsDir = bench.artifactsDir;
    // Absent from benchmark results of workers that predate them (a replayed or resumed cell).
    energy = bench.energy ?? null;
    thermal = bench.thermal ?? null;
    // Power mode and clocks as the device reports them right after the run, for the verdict (schema/verdict.ts).
    if (patched(READ_BACK_PATCH) && device) {
      // A read-back that fails leaves nulls (the verdict says so); it does not fail a cell that measured.
      const back = await steps.activity('readBackDevice').catch((err: unknown) => {
        if (err instanceof StepFailed) return null;
        throw err;
      });
      device = { ...device, powerModeAfter: back?.powerMode ?? null, clocksAfter: back?.clocks ?? null };
    }
  } catch (err) {
    if (!(err instanceof StepFailed)) throw err;
    failure = err;
  }

  // Lost before the benchmark reported back: nothing to keep, nothing recorded, the sweep runs the cell elsewhere.
  // The engine is left to the dead device (a teardown there would only wait out the timeout again).
  if (steps.lost && metrics === null) {
    return {
      cellId: c.id,
      status: 'failed',
      failure: failure?.info ?? null,
      engineFailed: false,
      headline: null,
      reportPath: null,
      steps: steps.timings,
      deviceLost: { ...steps.lost, rerun: true },
    };
  }
  const engineFailed = failure !== null && ENGINE_FAILURE_TYPES.has(failure.info.type);
  if (failure?.engine && engineFacts) {
    engineFacts = {
      ...engineFacts,
      exitCode: failure.engine.exitCode,
      oomKilled: failure.engine.oomKilled,
      logTail: failure.engine.logTail,
    };
  }
  // The engine goes when its model group is done, and whenever the cell failed: a broken engine must not be
  // adopted by the next cell.
  if (steps.lost) steps.skip('teardown', 'device lost');
  else if (containerName !== null && (c.stopsEngine || failure !== null)) {
    const name = containerName;
    await CancellationScope.nonCancellable(() => steps.activity('teardown', { containerName: name })).catch(
      () => undefined,
    );
  } else steps.skip('teardown', containerName === null ? 'no engine' : 'next cell reuses the engine');

  const record: UnjudgedCellRecord = {
    ...cellIdentity(input.sweepId, input.experimentName, c),
    status: failure ? 'failed' : 'succeeded',
    failure: failure?.info ?? null,
    metrics,
    harness,
    device,
    engine: engineFacts,
    steps: steps.timings,
    artifactsDir,
    simulated: device?.simulated ?? input.simulated,
    startedAt,
    finishedAt: new Date().toISOString(),
    energy,
    thermal,
    ...(input.movedFrom ? { movedFrom: input.movedFrom } : {}),
  };
  await results.recordCell(record);
  return {
    cellId: c.id,
    status: record.status,
    failure: record.failure,
    engineFailed,
    headline: metrics ? headlineMetrics(metrics) : null,
    reportPath: artifactsDir === null ? null : `${artifactsDir}/result.json`,
    steps: steps.timings,
    ...(steps.lost ? { deviceLost: { ...steps.lost, rerun: false } } : {}),
  };
}
