/**
 * One cell of the matrix, as a child workflow (its own history, so large sweeps stay small): the step pipeline of
 * DESIGN §5, each step an activity on the device's task queue, then one record on the results queue. A failed
 * step ends the cell as `failed` with its typed reason; it never fails the sweep.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  TimeoutFailure,
  isCancellation,
  proxyActivities,
  sleep,
} from '@temporalio/workflow';
import type { DeviceWorkerActivities } from '../activities/index.js';
import type { ResultsActivities } from '../activities/results.js';
import type { EngineFailureDetails } from '../activities/failures.js';
import type { PlannedCell } from '../plan/plan.js';
import type { EngineSpec, HarnessSpec, StepTimeouts, WarmupSpec } from '../schema/experiment.js';
import type { CellRecord, DeviceFacts, EngineFacts, FailureInfo, StepTiming } from '../schema/outcome.js';
import type { BenchmarkMetrics } from '../schema/metrics.js';
import { cellIdentity } from './cell-record.js';
import { QUICK_OPTIONS, type StepName, quickDeviceOptions, stepOptions } from './step-options.js';
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
}

export interface CellResult {
  cellId: string;
  status: CellRecord['status'];
  failure: FailureInfo | null;
  /** The engine failed (crash, OOM, never healthy, model missing): later cells of its group would fail alike. */
  engineFailed: boolean;
}

const ENGINE_FAILURES = new Set(['EngineCrashed', 'EngineOOMKilled', 'HealthTimeout', 'ModelNotFound']);
/** How long to wait for a rebooted device to come back before the cell fails. */
const REBOOT_DEADLINE_MS = 20 * 60_000;
const REBOOT_POLL = '10s';
/** The reboot kills the worker mid-activity: a short heartbeat timeout turns that into a quick, idempotent retry. */
const REBOOT_OPTIONS = (taskQueue: string, heartbeatTimeoutMs: number) => ({
  taskQueue,
  startToCloseTimeout: '5m',
  heartbeatTimeout: heartbeatTimeoutMs,
  retry: { initialInterval: '5s', maximumAttempts: 30 },
});

class StepFailed extends Error {
  constructor(
    readonly step: string,
    readonly info: FailureInfo,
    readonly engine: EngineFailureDetails | null,
  ) {
    super(info.message);
  }
}

function describeFailure(step: string, err: unknown): StepFailed {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const details = (cause.details?.[0] ?? null) as EngineFailureDetails | null;
    return new StepFailed(step, { type: cause.type ?? 'Error', message: cause.message, retryable: !cause.nonRetryable, step }, details);
  }
  if (cause instanceof TimeoutFailure) {
    return new StepFailed(step, { type: 'StepTimeout', message: `${step} timed out (${cause.timeoutType})`, retryable: true, step }, null);
  }
  const message = cause instanceof Error ? cause.message : String(cause);
  return new StepFailed(step, { type: 'Error', message, retryable: true, step }, null);
}

export async function cell(input: CellInput): Promise<CellResult> {
  const { cell: c, timeouts, deviceQueue } = input;
  const act = (step: StepName) => proxyActivities<DeviceWorkerActivities>(stepOptions(step, timeouts, deviceQueue, input.heartbeatTimeoutMs));
  const quick = proxyActivities<DeviceWorkerActivities>(quickDeviceOptions(deviceQueue, input.heartbeatTimeoutMs));
  const results = proxyActivities<ResultsActivities>({ ...QUICK_OPTIONS, taskQueue: SWEEP_TASK_QUEUE });

  const startedAt = new Date().toISOString();
  const steps: StepTiming[] = [];
  let metrics: BenchmarkMetrics | null = null;
  let harness: CellRecord['harness'] = null;
  let device: DeviceFacts | null = null;
  let engineFacts: EngineFacts | null = null;
  let artifactsDir: string | null = null;
  let containerName: string | null = null;

  async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const t0 = Date.now();
    try {
      const out = await fn();
      steps.push({ step: name, startedAt: new Date(t0).toISOString(), durationMs: Date.now() - t0, result: 'done' });
      return out;
    } catch (err) {
      if (isCancellation(err)) throw err;
      const failure = describeFailure(name, err);
      steps.push({ step: name, startedAt: new Date(t0).toISOString(), durationMs: Date.now() - t0, result: `failed: ${failure.info.type}` });
      throw failure;
    }
  }
  const skip = (name: string, why: string) => steps.push({ step: name, startedAt: new Date().toISOString(), durationMs: 0, result: `skipped: ${why}` });

  let failure: StepFailed | null = null;
  try {
    if (input.flushCaches) await step('flushCaches', () => act('flushCaches').flushCaches());
    else skip('flushCaches', c.startsEngine ? 'disabled by steps.flushCaches' : 'engine already loaded');

    const power = await step('ensurePowerMode', () => act('ensurePowerMode').ensurePowerMode({ power: c.power }));
    if (power.outcome === 'reboot-required') {
      await step('rebootForPowerMode', async () => {
        await proxyActivities<DeviceWorkerActivities>(REBOOT_OPTIONS(deviceQueue, input.heartbeatTimeoutMs)).switchPowerModeWithReboot({ modeId: power.to.id, bootIdBefore: power.bootId });
        const deadline = Date.now() + REBOOT_DEADLINE_MS;
        for (;;) {
          const probe = await quick.probeAfterReboot().catch(() => null);
          if (probe && probe.bootId !== power.bootId && probe.powerMode.id === power.to.id) return probe;
          if (Date.now() > deadline) {
            throw ApplicationFailure.nonRetryable(`device did not come back in ${power.to.name} within ${REBOOT_DEADLINE_MS / 60_000} min after the reboot`, 'RebootRequired');
          }
          await sleep(REBOOT_POLL);
        }
      });
    }

    await step('ensureClocks', () => act('ensureClocks').ensureClocks({ clocks: c.clocks }));
    device = await step('describeDevice', () => quick.describeDevice());

    const engine = await step('startEngine', () =>
      act('startEngine').startEngine({ sweepId: input.sweepId, cellId: c.id, engineGroup: c.engineGroup, engine: input.engine, model: c.model }),
    );
    containerName = engine.containerName;
    engineFacts = engine.facts;
    const endpoint = { containerName, port: input.engine.port, servedName: c.model.servedName };
    const harnessInput = { ...endpoint, harness: input.harness, modelPath: c.model.path };

    const health = await step('waitForHealth', () =>
      act('waitForHealth').waitForHealth({ ...endpoint, timeoutMs: Math.max(1_000, (timeouts.waitForHealth ?? 30 * 60_000) - 5_000) }),
    );
    engineFacts = { ...engineFacts, version: health.version ?? null };

    if (engine.started && input.warmup && input.warmup.numPrompts > 0) {
      await step('warmup', () => act('warmup').warmup({ ...harnessInput, warmup: input.warmup! }));
    } else skip('warmup', engine.started ? 'no warmup configured' : 'engine already warm');

    const bench = await step('benchmark', () => act('benchmark').benchmark({ ...harnessInput, sweepId: input.sweepId, cellId: c.id, scenario: c.scenario, repeat: c.repeat }));
    metrics = bench.metrics;
    harness = bench.harness;
    artifactsDir = bench.artifactsDir;
  } catch (err) {
    if (!(err instanceof StepFailed)) throw err;
    failure = err;
  }

  const engineFailed = failure !== null && ENGINE_FAILURES.has(failure.info.type);
  if (failure?.engine && engineFacts) {
    engineFacts = { ...engineFacts, exitCode: failure.engine.exitCode, oomKilled: failure.engine.oomKilled, logTail: failure.engine.logTail };
  }
  // The engine goes when its model group is done, and whenever the cell failed: a broken engine must not be
  // adopted by the next cell.
  if (containerName !== null && (c.stopsEngine || failure !== null)) {
    const name = containerName;
    await CancellationScope.nonCancellable(() => step('teardown', () => act('teardown').teardownEngine({ containerName: name }))).catch(() => undefined);
  } else skip('teardown', containerName === null ? 'no engine' : 'next cell reuses the engine');

  const record: CellRecord = {
    ...cellIdentity(input.sweepId, input.experimentName, c),
    status: failure ? 'failed' : 'succeeded',
    failure: failure?.info ?? null,
    metrics,
    harness,
    device,
    engine: engineFacts,
    steps,
    artifactsDir,
    simulated: device?.simulated ?? input.simulated,
    startedAt,
    finishedAt: new Date().toISOString(),
  };
  await results.recordCell(record);
  return { cellId: c.id, status: record.status, failure: record.failure, engineFailed };
}
