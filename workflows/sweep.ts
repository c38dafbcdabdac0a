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
  continueAsNew,
  executeChild,
  isCancellation,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { ClaimActivities, DeviceWorkerActivities } from '../activities/index.js';
import type { ResultsActivities } from '../activities/results.js';
import { type PlannedCell, planSweep } from '../plan/plan.js';
import { type Experiment, parseExperiment } from '../schema/experiment.js';
import type { CellRecord, CellStatus } from '../schema/outcome.js';
import { cellIdentity } from './cell-record.js';
import { type CellInput, type CellResult, cell } from './cell.js';
import { type CellProgress, type SweepProgress, progressQuery } from './messages.js';
import { QUICK_OPTIONS, quickDeviceOptions } from './step-options.js';
import { DEVICE_CLAIM_TASK_QUEUE, SWEEP_TASK_QUEUE, deviceTaskQueue } from './task-queues.js';

/** State carried across continue-as-new: what is already done. */
export interface SweepCarry {
  finished: Record<string, CellStatus>;
  devices: string[];
  simulated: boolean;
  /** Power mode and clocks found on each device before the first cell (steps.restoreDevice). */
  before: Record<string, DeviceSnapshot>;
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
}

const results = proxyActivities<ResultsActivities>({ ...QUICK_OPTIONS, taskQueue: SWEEP_TASK_QUEUE });
const claim = proxyActivities<ClaimActivities>({
  taskQueue: DEVICE_CLAIM_TASK_QUEUE,
  // Waits for a device worker to come online; the sweep shows this as "starting" in its progress query.
  scheduleToCloseTimeout: '30d',
  startToCloseTimeout: '1m',
});

function zeroCounts(): Record<CellStatus, number> {
  return { succeeded: 0, failed: 0, skipped: 0, cancelled: 0 };
}

/** Spreads whole engine groups over the devices (a group must stay on one device: its engine lives there). */
export function shardByDevice(cells: PlannedCell[], devices: string[]): Map<string, PlannedCell[]> {
  const shards = new Map(devices.map((d) => [d, [] as PlannedCell[]]));
  const groupDevice = new Map<string, string>();
  for (const c of cells) {
    let d = groupDevice.get(c.engineGroup);
    if (d === undefined) {
      d = devices[groupDevice.size % devices.length]!;
      groupDevice.set(c.engineGroup, d);
    }
    shards.get(d)!.push(c);
  }
  return shards;
}

function parseOrFail(input: unknown): Experiment {
  const parsed = parseExperiment(input);
  if (!parsed.ok) {
    const lines = parsed.problems.map((p) => `${p.path}: ${p.message}`);
    throw ApplicationFailure.nonRetryable(`invalid experiment:\n${lines.join('\n')}`, 'InvalidExperiment', parsed.problems);
  }
  return parsed.experiment;
}

export async function sweep(input: unknown, carry?: SweepCarry): Promise<SweepSummary> {
  const exp = parseOrFail(input);
  const plan = planSweep(exp);
  const sweepId = workflowInfo().workflowId;

  const cells: CellProgress[] = plan.cells.map((c) => ({ id: c.id, status: 'pending' }));
  const byId = new Map(cells.map((c) => [c.id, c]));
  const progress: SweepProgress = {
    sweepId,
    experiment: exp.name,
    state: 'starting',
    devices: carry?.devices ?? [],
    total: plan.cells.length,
    done: 0,
    counts: zeroCounts(),
    current: [],
    cells,
  };
  setHandler(progressQuery, () => progress);
  const finish = (id: string, status: CellStatus, failureType?: string) => {
    const entry = byId.get(id)!;
    entry.status = status;
    if (failureType) entry.failureType = failureType;
    progress.counts[status]++;
    progress.done++;
  };

  let devices = carry?.devices ?? [];
  let simulated = carry?.simulated ?? false;
  const before: Record<string, DeviceSnapshot> = { ...(carry?.before ?? {}) };
  const deviceActs = (deviceId: string) => proxyActivities<DeviceWorkerActivities>(quickDeviceOptions(deviceTaskQueue(deviceId), exp.steps.heartbeatTimeout));
  if (devices.length === 0) {
    if (exp.device.select === 'any') {
      const claimed = await claim.claimDevice();
      devices = [claimed.deviceId];
      simulated = claimed.simulated;
    } else {
      devices = exp.device.select;
    }
    progress.devices = devices;
    await results.openSweepRecord({
      sweepId,
      experimentName: exp.name,
      experimentJson: JSON.stringify(input),
      workflowId: sweepId,
      simulated,
      plannedCells: plan.cells.length,
      startedAt: new Date().toISOString(),
    });
    if (exp.steps.restoreDevice) {
      for (const deviceId of devices) {
        const facts = await deviceActs(deviceId).describeDevice();
        before[deviceId] = { powerModeId: facts.powerModeId, clocksLocked: facts.clocksLocked };
      }
    }
  }

  /** Puts each device back in the power mode and clocks it had before the sweep (steps.restoreDevice). */
  async function restoreDevices(): Promise<void> {
    for (const [deviceId, snap] of Object.entries(before)) {
      const acts = deviceActs(deviceId);
      const power = await acts.ensurePowerMode({ power: { id: snap.powerModeId } });
      // A restore that needs a reboot is left to the operator: a sweep never reboots a device after it finished.
      if (power.outcome !== 'reboot-required') await acts.ensureClocks({ clocks: snap.clocksLocked ? 'locked' : 'default' });
    }
  }

  const finished: Record<string, CellStatus> = { ...(carry?.finished ?? {}) };
  for (const id of await results.completedCells({ sweepId })) if (byId.has(id) && !finished[id]) finished[id] = 'succeeded';
  for (const [id, status] of Object.entries(finished)) if (byId.has(id)) finish(id, status);
  progress.state = 'running';

  let pauseForContinueAsNew = false;

  async function recordUnrun(c: PlannedCell, status: 'skipped' | 'cancelled', reason: { type: string; message: string }): Promise<void> {
    const now = new Date().toISOString();
    const record: CellRecord = {
      ...cellIdentity(sweepId, exp.name, c),
      status,
      failure: { ...reason, retryable: false, step: 'plan' },
      metrics: null,
      harness: null,
      device: null,
      engine: null,
      steps: [],
      artifactsDir: null,
      simulated,
      startedAt: now,
      finishedAt: now,
    };
    await results.recordCell(record);
    finished[c.id] = status;
    finish(c.id, status, reason.type);
  }

  async function runShard(deviceId: string, shardCells: PlannedCell[]): Promise<void> {
    const failedGroups = new Map<string, string>();
    let firstRun = true;
    for (const c of shardCells) {
      if (finished[c.id]) continue;
      if (pauseForContinueAsNew) return;
      const brokenBy = failedGroups.get(c.engineGroup);
      if (brokenBy) {
        await recordUnrun(c, 'skipped', { type: 'EngineFailed', message: `not run: the engine for ${c.engineGroup} failed in cell ${brokenBy}` });
        continue;
      }
      byId.get(c.id)!.status = 'running';
      const current = { deviceId, cellId: c.id, step: 'running' };
      progress.current.push(current);
      const cellInput: CellInput = {
        sweepId,
        experimentName: exp.name,
        deviceQueue: deviceTaskQueue(deviceId),
        cell: c,
        engine: exp.engine,
        harness: exp.harness,
        warmup: exp.warmup ?? null,
        // A resumed shard may find no engine running (reboot, crash): flush before its first start too.
        flushCaches: exp.steps.flushCaches && (c.startsEngine || firstRun),
        timeouts: exp.steps.timeouts,
        heartbeatTimeoutMs: exp.steps.heartbeatTimeout,
        simulated,
      };
      firstRun = false;
      let result: CellResult;
      try {
        result = await executeChild(cell, { workflowId: `${sweepId}/${c.id}`, taskQueue: SWEEP_TASK_QUEUE, args: [cellInput] });
      } finally {
        progress.current.splice(progress.current.indexOf(current), 1);
      }
      finished[c.id] = result.status;
      finish(c.id, result.status, result.failure?.type);
      if (result.engineFailed) failedGroups.set(c.engineGroup, c.id);
      if (workflowInfo().continueAsNewSuggested) pauseForContinueAsNew = true;
    }
  }

  const shards = shardByDevice(plan.cells, devices);
  try {
    await Promise.all([...shards].map(([deviceId, shardCells]) => runShard(deviceId, shardCells)));
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // Cancelled (thorbench cancel): record what never ran, then leave the device clean.
    await CancellationScope.nonCancellable(async () => {
      for (const c of plan.cells) {
        if (!finished[c.id]) await recordUnrun(c, 'cancelled', { type: 'Cancelled', message: 'sweep cancelled before this cell finished' });
      }
      for (const deviceId of devices) await deviceActs(deviceId).teardownAllEngines();
      await restoreDevices();
      progress.state = 'cancelled';
      await results.finishSweepRecord({ sweepId, state: 'cancelled', finishedAt: new Date().toISOString() });
    });
    throw err;
  }

  if (pauseForContinueAsNew && plan.cells.some((c) => !finished[c.id])) {
    await continueAsNew<typeof sweep>(input, { finished, devices, simulated, before });
  }

  await restoreDevices();
  progress.state = 'completed';
  await results.finishSweepRecord({ sweepId, state: 'completed', finishedAt: new Date().toISOString() });
  return { sweepId, experiment: exp.name, counts: { ...progress.counts }, cells: plan.cells.length };
}
