/**
 * The sweep and cell workflows on a real Temporal server with in-memory devices (test/helpers/mock-device.ts):
 * sharding, the engine-group skip, the reboot deadline, cancellation with device restore and continue-as-new,
 * each shown directly and in seconds. The simulator's end-to-end tests show the same workflows on real processes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { planSweep } from '../plan/plan.js';
import { shardByDevice } from '../plan/shard.js';
import { Experiment, type ExperimentInput } from '../schema/experiment.js';
import type { cell, CellInput } from '../workflows/cell.js';
import { progressQuery } from '../workflows/messages.js';
import type { sweep } from '../workflows/sweep.js';
import { SWEEP_TASK_QUEUE, deviceTaskQueue } from '../workflows/task-queues.js';
import { Gate, MockDevice } from './helpers/mock-device.js';
import { type WorkflowEnv, startWorkflowEnv } from './helpers/workflow-env.js';

const FP8 = { id: 'qwen3-8b-fp8', path: 'Qwen/Qwen3-8B-FP8', quantization: 'fp8', servedName: 'qwen3' } as const;
const AWQ = { id: 'qwen3-8b-awq', path: 'Qwen/Qwen3-8B-AWQ', quantization: 'awq', servedName: 'qwen3' } as const;

function experiment(name: string, overrides: Partial<ExperimentInput> = {}): ExperimentInput {
  return {
    name,
    device: { select: [name] },
    matrix: {
      power: [{ mode: 'MAXN' }],
      clocks: ['default', 'locked'],
      model: [FP8, AWQ],
      scenario: [{ name: 'tiny', inputLen: 64, outputLen: 8, numPrompts: 4, maxConcurrency: 2 }],
    },
    warmup: { inputLen: 16, outputLen: 2, numPrompts: 1 },
    steps: { heartbeatTimeout: 2_000 },
    ...overrides,
  };
}

describe('workflows with in-memory devices', { timeout: 120_000 }, () => {
  let w: WorkflowEnv;

  before(async () => {
    w = await startWorkflowEnv();
  });
  after(async () => {
    await w?.stop();
  });

  const start = (id: string, exp: ExperimentInput) =>
    w.env.client.workflow.start<typeof sweep>('sweep', { taskQueue: SWEEP_TASK_QUEUE, workflowId: id, args: [exp] });

  it('shards engine groups across devices, which run in parallel', async () => {
    const exp = experiment('shard', { device: { select: ['shard-a', 'shard-b'] } });
    exp.matrix.model = [FP8, AWQ, { ...FP8, id: 'qwen3-8b-fp8-2' }];
    // Device a's first benchmark waits until device b has started one: shards that ran one after another would hang.
    const bothRunning = new Gate();
    const a2 = new MockDevice('shard-a', { benchmarkGates: new Map([['*', bothRunning]]) });
    const b2 = new MockDevice('shard-b');
    const handle = await start('shard-1', exp);
    const result = handle.result();
    const bStarted = (async () => {
      while (b2.called('benchmark').length === 0) await new Promise((r) => setTimeout(r, 20));
      bothRunning.release();
    })();
    const summary = await a2.run(w.env.nativeConnection, b2.run(w.env.nativeConnection, result));
    await bStarted;
    assert.deepEqual(summary.counts, { succeeded: 6, failed: 0, skipped: 0, cancelled: 0 });

    const expected = shardByDevice(planSweep(Experiment.parse(exp)).cells, ['shard-a', 'shard-b']);
    for (const [device, mock] of [['shard-a', a2], ['shard-b', b2]] as const) {
      const ran = mock.called('benchmark').map((c) => (c.input as { cellId: string }).cellId);
      assert.deepEqual(ran, expected.get(device)!.map((c) => c.id), `${device} ran its shard in plan order`);
      // One engine start per group on its own device; no engine left behind.
      assert.equal(mock.called('warmup').length, new Set(expected.get(device)!.map((c) => c.engineGroup)).size);
      assert.equal(mock.engine, null);
    }
    for (const c of w.store.listCells('shard-1')) assert.equal(c.device?.deviceId, expected.get('shard-a')!.some((x) => x.id === c.cellId) ? 'shard-a' : 'shard-b');
  });

  it('skips the rest of an engine group after its engine failed, tears the engine down, and goes on', async () => {
    const dev = new MockDevice('skip', { brokenModels: [AWQ.id] });
    const summary = await dev.run(w.env.nativeConnection, start('skip-1', experiment('skip')).then((h) => h.result()));
    assert.deepEqual(summary.counts, { succeeded: 2, failed: 1, skipped: 1, cancelled: 0 });
    const cells = w.store.listCells('skip-1');
    const awq = cells.filter((c) => c.modelId === AWQ.id);
    const failed = awq.find((c) => c.status === 'failed')!;
    assert.equal(failed.failure?.type, 'HealthTimeout');
    assert.equal(failed.failure?.step, 'waitForHealth');
    assert.equal(failed.engine?.logTail, 'loading weights\nstill loading');
    assert.deepEqual(failed.steps.find((s) => s.step === 'waitForHealth')?.result, { kind: 'failed', failure: 'HealthTimeout' });
    assert.deepEqual(failed.steps.find((s) => s.step === 'teardown')?.result, { kind: 'done' }, 'a broken engine is removed');
    const skipped = awq.find((c) => c.status === 'skipped')!;
    assert.equal(skipped.failure?.type, 'EngineFailed');
    assert.match(skipped.failure?.message ?? '', new RegExp(`failed in cell ${failed.cellId.replace(/\./g, '\\.')}`));
    // The skipped cell never reached the device.
    const startedFor = dev.called('startEngine').map((c) => (c.input as { cellId: string }).cellId);
    assert.ok(!startedFor.includes(skipped.cellId));
    assert.ok(cells.filter((c) => c.modelId === FP8.id).every((c) => c.status === 'succeeded'));
  });

  it('fails a cell whose device does not come back from a reboot within the step deadline', async () => {
    const dev = new MockDevice('reboot-late', { powerModeId: 0, rebootComesBack: false });
    const exp = Experiment.parse(experiment('reboot-late', { matrix: { ...experiment('x').matrix, power: [{ mode: '90W' }], clocks: ['locked'], model: [FP8] } }));
    const planned = planSweep(exp).cells[0]!;
    const input: CellInput = {
      sweepId: 'reboot-late-1',
      experimentName: exp.name,
      deviceQueue: deviceTaskQueue(dev.id),
      cell: planned,
      engine: exp.engine,
      warmup: null,
      flushCaches: false,
      timeouts: { rebootForPowerMode: 1_000 },
      heartbeatTimeoutMs: 2_000,
      simulated: true,
      rebootPollMs: 100,
    };
    const t0 = Date.now();
    const result = await dev.run(
      w.env.nativeConnection,
      w.env.client.workflow.execute<typeof cell>('cell', { taskQueue: SWEEP_TASK_QUEUE, workflowId: 'reboot-late-1/cell', args: [input] }),
    );
    assert.equal(result.status, 'failed');
    assert.equal(result.failure?.type, 'RebootRequired');
    assert.equal(result.failure?.step, 'rebootForPowerMode');
    assert.match(result.failure?.message ?? '', /did not come back in 90W within 1 s/);
    assert.ok(dev.called('probeAfterReboot').length >= 2, 'probed until the deadline');
    assert.equal(dev.called('startEngine').length, 0, 'nothing ran after the failed reboot');
    assert.ok(Date.now() - t0 < 30_000);
    const record = w.store.getCell('reboot-late-1', planned.id, 1)!;
    assert.deepEqual(record.steps.map((s) => [s.step, s.result.kind]), [
      ['flushCaches', 'skipped'],
      ['ensurePowerMode', 'done'],
      ['rebootForPowerMode', 'failed'],
      ['teardown', 'skipped'],
    ]);
  });

  it('reboots into a power mode of another power-gating group and carries on when the device comes back', async () => {
    const dev = new MockDevice('reboot-ok', { powerModeId: 0 });
    const exp = experiment('reboot-ok', { matrix: { ...experiment('x').matrix, power: [{ mode: 'MAXN' }, { mode: '90W' }], clocks: ['locked'], model: [FP8] } });
    const summary = await dev.run(w.env.nativeConnection, start('reboot-ok-1', exp).then((h) => h.result()));
    assert.equal(summary.counts.succeeded, 2);
    assert.equal(dev.called('switchPowerModeWithReboot').length, 1);
    const after90 = w.store.listCells('reboot-ok-1').find((c) => c.power === '90w')!;
    assert.equal(after90.device?.bootId, 'boot-2');
    assert.equal(after90.device?.clocksLocked, true, 'clocks ensured after the reboot');
  });

  it('cancels: the running cell and the unrun ones recorded as cancelled, engines torn down, device restored', async () => {
    const gate = new Gate();
    const dev = new MockDevice('cancel', { powerModeId: 1, clocksLocked: false, benchmarkGates: new Map([['maxn.locked.qwen3-8b-fp8.tiny.r1', gate]]) });
    const exp = experiment('cancel', { steps: { heartbeatTimeout: 2_000, restoreDevice: true } });
    const handle = await start('cancel-1', exp);
    const outcome = dev.run(w.env.nativeConnection, handle.result().then(() => 'completed', (err: unknown) => err));
    await gate.reached;
    const progress = await handle.query(progressQuery);
    assert.deepEqual(progress.current.map((c) => c.cellId), ['maxn.locked.qwen3-8b-fp8.tiny.r1']);
    await handle.cancel();
    const err = await outcome;
    assert.ok(err instanceof WorkflowFailedError, `the sweep ends cancelled (${String(err)})`);
    const cells = w.store.listCells('cancel-1');
    assert.deepEqual(cells.map((c) => [c.cellId, c.status]), [
      ['maxn.default.qwen3-8b-fp8.tiny.r1', 'succeeded'],
      ['maxn.locked.qwen3-8b-fp8.tiny.r1', 'cancelled'],
      ['maxn.default.qwen3-8b-awq.tiny.r1', 'cancelled'],
      ['maxn.locked.qwen3-8b-awq.tiny.r1', 'cancelled'],
    ]);
    assert.ok(cells.filter((c) => c.status === 'cancelled').every((c) => c.failure?.type === 'Cancelled'));
    assert.equal(w.store.getSweep('cancel-1')?.state, 'cancelled');
    assert.equal(dev.called('teardownAllEngines').length, 1);
    assert.equal(dev.engine, null, 'no engine left running');
    assert.equal(dev.powerModeId, 1, 'power mode restored');
    assert.equal(dev.clocksLocked, false, 'clocks restored');
    const last = dev.calls.slice(-2).map((c) => c.activity);
    assert.deepEqual(last, ['ensurePowerMode', 'ensureClocks'], 'restored after the teardown');
  });
});

describe('continue-as-new with in-memory devices', { timeout: 120_000 }, () => {
  let w: WorkflowEnv;

  before(async () => {
    // Suggest continue-as-new after a few dozen events, so a 12-cell sweep crosses several runs.
    w = await startWorkflowEnv(['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=40']);
  });
  after(async () => {
    await w?.stop();
  });

  it('carries finished cells and the device state into the next run: every cell runs once, the engine is kept', async () => {
    const dev = new MockDevice('can', { powerModeId: 1 });
    const exp = experiment('can', { repeats: 6, steps: { heartbeatTimeout: 2_000, restoreDevice: true } });
    exp.matrix.model = [FP8];
    const handle = await w.env.client.workflow.start<typeof sweep>('sweep', { taskQueue: SWEEP_TASK_QUEUE, workflowId: 'can-1', args: [exp] });
    const summary = await dev.run(w.env.nativeConnection, handle.result());
    assert.deepEqual(summary.counts, { succeeded: 12, failed: 0, skipped: 0, cancelled: 0 }, 'the last run counts the cells of earlier runs');
    const lastRun = (await handle.describe()).runId;
    assert.notEqual(lastRun, handle.firstExecutionRunId, 'the sweep continued as new');
    const benchmarked = dev.called('benchmark').map((c) => (c.input as { cellId: string }).cellId);
    assert.equal(benchmarked.length, 12);
    assert.equal(new Set(benchmarked).size, 12, 'no cell ran twice across runs');
    assert.equal(w.store.countRows('can-1'), 12);
    assert.equal(dev.called('warmup').length, 1, 'one engine served all twelve cells across runs');
    // The snapshot taken in the first run restores the device at the end of the last one.
    assert.equal(dev.called('describeDevice').length, 12 + 1, 'one snapshot, then one description per cell');
    assert.equal(dev.powerModeId, 1);
    const progress = await handle.query(progressQuery);
    assert.equal(progress.done, 12);
    assert.equal(progress.state, 'completed');
  });
});
