/**
 * The sweep and cell workflows on a real Temporal server with in-memory devices (test/helpers/mock-device.ts):
 * sharding, the engine-group skip, the reboot deadline, cancellation with device restore and continue-as-new,
 * each shown directly and in seconds. The simulator's end-to-end tests show the same workflows on real processes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import { failureReason } from '../cli/errors.js';
import { unpackByValue } from '../plan/packed-ids.js';
import { planSweep } from '../plan/plan.js';
import { shardByDevice } from '../plan/shard.js';
import { Experiment, type ExperimentInput, STEP_NAMES } from '../schema/experiment.js';
import { FailureType } from '../schema/outcome.js';
import type { cell, CellInput } from '../workflows/cell.js';
import { progressQuery } from '../workflows/messages.js';
import { cellSummary, stepSummary } from '../workflows/summaries.js';
import type { SweepCarry } from '../workflows/sweep.js';
import { SWEEP_TASK_QUEUE, deviceTaskQueue } from '../workflows/task-queues.js';
import { Gate, MockDevice } from './helpers/mock-device.js';
import { waitFor } from './helpers/wait.js';
import { SUGGEST_CONTINUE_AS_NEW, suiteWorkflowEnv } from './helpers/workflow-env.js';

const FP8 = { id: 'qwen3-8b-fp8', path: 'Qwen/Qwen3-8B-FP8', quantization: 'fp8', servedName: 'qwen3' } as const;
const AWQ = { id: 'qwen3-8b-awq', path: 'Qwen/Qwen3-8B-AWQ', quantization: 'awq', servedName: 'qwen3' } as const;
const FP4 = { id: 'qwen3-8b-fp4', path: 'Qwen/Qwen3-8B-FP4', quantization: 'fp4', servedName: 'qwen3' } as const;

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

describe('workflows with in-memory devices', { timeout: 300_000 }, () => {
  const w = suiteWorkflowEnv();

  it('shards engine groups across devices, which run in parallel', async () => {
    const exp = experiment('shard', { device: { select: ['shard-a', 'shard-b'] } });
    exp.matrix.model = [FP8, AWQ, { ...FP8, id: 'qwen3-8b-fp8-2' }];
    // Device a's first benchmark waits until device b has started one: shards that ran one after another would hang.
    const bothRunning = new Gate();
    const a = new MockDevice('shard-a', { benchmarkGates: new Map([['*', bothRunning]]) });
    const b = new MockDevice('shard-b');
    const handle = await w.startSweep('shard-1', exp);
    const result = handle.result();
    const bStarted = (async () => {
      while (b.called('benchmark').length === 0) await new Promise((r) => setTimeout(r, 20));
      bothRunning.release();
    })();
    const summary = await a.run(w.env.nativeConnection, b.run(w.env.nativeConnection, result));
    await bStarted;
    assert.deepEqual(summary.counts, { succeeded: 6, failed: 0, skipped: 0, cancelled: 0 });

    const expected = shardByDevice(planSweep(Experiment.parse(exp)).cells, ['shard-a', 'shard-b']);
    for (const [device, mock] of [
      ['shard-a', a],
      ['shard-b', b],
    ] as const) {
      const ran = mock.called('benchmark').map((c) => (c.input as { cellId: string }).cellId);
      assert.deepEqual(
        ran,
        expected.get(device)!.map((c) => c.id),
        `${device} ran its shard in plan order`,
      );
      // One engine start per group on its own device; no engine left behind.
      assert.equal(mock.called('warmup').length, new Set(expected.get(device)!.map((c) => c.engineGroup)).size);
      assert.equal(mock.engine, null);
    }
    for (const c of await w.store.listCells('shard-1'))
      assert.equal(c.device?.deviceId, expected.get('shard-a')!.some((x) => x.id === c.cellId) ? 'shard-a' : 'shard-b');
  });

  it('skips the rest of an engine group after its engine failed, tears the engine down, and goes on', async () => {
    const dev = new MockDevice('skip', { brokenModels: [AWQ.id] });
    const summary = await dev.run(
      w.env.nativeConnection,
      w.startSweep('skip-1', experiment('skip')).then((h) => h.result()),
    );
    assert.deepEqual(summary.counts, { succeeded: 2, failed: 1, skipped: 1, cancelled: 0 });
    const cells = await w.store.listCells('skip-1');
    const awq = cells.filter((c) => c.modelId === AWQ.id);
    const failed = awq.find((c) => c.status === 'failed')!;
    assert.equal(failed.failure?.type, 'HealthTimeout');
    assert.equal(failed.failure?.step, 'waitForHealth');
    assert.equal(failed.engine?.logTail, 'loading weights\nstill loading');
    assert.deepEqual(failed.steps.find((s) => s.step === 'waitForHealth')?.result, {
      kind: 'failed',
      failure: 'HealthTimeout',
    });
    assert.deepEqual(
      failed.steps.find((s) => s.step === 'teardown')?.result,
      { kind: 'done' },
      'a broken engine is removed',
    );
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
    const exp = Experiment.parse(
      experiment('reboot-late', {
        matrix: { ...experiment('x').matrix, power: [{ mode: '90W' }], clocks: ['locked'], model: [FP8] },
      }),
    );
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
      w.env.client.workflow.execute<typeof cell>('cell', {
        taskQueue: SWEEP_TASK_QUEUE,
        workflowId: 'reboot-late-1/cell',
        args: [input],
      }),
    );
    assert.equal(result.status, 'failed');
    assert.equal(result.failure?.type, 'RebootRequired');
    assert.equal(result.failure?.step, 'rebootForPowerMode');
    assert.match(result.failure?.message ?? '', /did not come back in 90W within 1 s/);
    assert.ok(dev.called('probeAfterReboot').length >= 2, 'probed until the deadline');
    assert.equal(dev.called('startEngine').length, 0, 'nothing ran after the failed reboot');
    assert.ok(Date.now() - t0 < 30_000);
    const record = (await w.store.getCell('reboot-late-1', planned.id, 1))!;
    assert.deepEqual(
      record.steps.map((s) => [s.step, s.result.kind]),
      [
        ['flushCaches', 'skipped'],
        ['ensurePowerMode', 'done'],
        ['rebootForPowerMode', 'failed'],
        ['teardown', 'skipped'],
      ],
    );
  });

  it('reboots into a power mode of another power-gating group and carries on when the device comes back', async () => {
    const dev = new MockDevice('reboot-ok', { powerModeId: 0 });
    const exp = experiment('reboot-ok', {
      matrix: {
        ...experiment('x').matrix,
        power: [{ mode: 'MAXN' }, { mode: '90W' }],
        clocks: ['locked'],
        model: [FP8],
      },
    });
    const summary = await dev.run(
      w.env.nativeConnection,
      w.startSweep('reboot-ok-1', exp).then((h) => h.result()),
    );
    assert.equal(summary.counts.succeeded, 2);
    assert.equal(dev.called('switchPowerModeWithReboot').length, 1);
    const after90 = (await w.store.listCells('reboot-ok-1')).find((c) => c.power === '90w')!;
    assert.equal(after90.device?.bootId, 'boot-2');
    assert.equal(after90.device?.clocksLocked, true, 'clocks ensured after the reboot');
  });

  it('cancels: running and unrun cells recorded as cancelled, engines torn down, device restored', async () => {
    const gate = new Gate();
    const dev = new MockDevice('cancel', {
      powerModeId: 1,
      clocksLocked: false,
      benchmarkGates: new Map([['maxn.locked.qwen3-8b-fp8.tiny.r1', gate]]),
    });
    const exp = experiment('cancel', { steps: { heartbeatTimeout: 2_000, restoreDevice: true } });
    const handle = await w.startSweep('cancel-1', exp);
    const outcome = dev.run(
      w.env.nativeConnection,
      handle.result().then(
        () => 'completed',
        (err: unknown) => err,
      ),
    );
    await gate.reached;
    const progress = await handle.query(progressQuery);
    assert.deepEqual(
      progress.current.map((c) => c.cellId),
      ['maxn.locked.qwen3-8b-fp8.tiny.r1'],
    );
    await handle.cancel();
    const err = await outcome;
    assert.ok(err instanceof WorkflowFailedError, `the sweep ends cancelled (${String(err)})`);
    const cells = await w.store.listCells('cancel-1');
    assert.deepEqual(
      cells.map((c) => [c.cellId, c.status]),
      [
        ['maxn.default.qwen3-8b-fp8.tiny.r1', 'succeeded'],
        ['maxn.locked.qwen3-8b-fp8.tiny.r1', 'cancelled'],
        ['maxn.default.qwen3-8b-awq.tiny.r1', 'cancelled'],
        ['maxn.locked.qwen3-8b-awq.tiny.r1', 'cancelled'],
      ],
    );
    assert.ok(cells.filter((c) => c.status === 'cancelled').every((c) => c.failure?.type === 'Cancelled'));
    assert.equal((await w.store.getSweep('cancel-1'))?.state, 'cancelled');
    assert.equal(dev.called('teardownAllEngines').length, 1);
    assert.equal(dev.engine, null, 'no engine left running');
    assert.equal(dev.powerModeId, 1, 'power mode restored');
    assert.equal(dev.clocksLocked, false, 'clocks restored');
    const last = dev.calls.slice(-2).map((c) => c.activity);
    assert.deepEqual(last, ['ensurePowerMode', 'ensureClocks'], 'restored after the teardown');
    const cancelledCells = await listIds(
      'ThorbenchSweep = "cancel-1" AND ThorbenchCellStatus = "cancelled"',
      (ids) => ids.length === 3,
    );
    assert.deepEqual(
      cancelledCells,
      [
        'cancel-1/maxn.default.qwen3-8b-awq.tiny.r1',
        'cancel-1/maxn.locked.qwen3-8b-awq.tiny.r1',
        'cancel-1/maxn.locked.qwen3-8b-fp8.tiny.r1',
      ],
      'the cell that was running and the cells that never started say so in visibility',
    );
    assert.deepEqual(
      await listIds(
        'ThorbenchSweep = "cancel-1" AND ThorbenchCellStatus = "cancelled" AND ThorbenchQuantizations = "awq" ' +
          'AND ThorbenchDevice = "cancel"',
        (ids) => ids.length === 2,
      ),
      ['cancel-1/maxn.default.qwen3-8b-awq.tiny.r1', 'cancel-1/maxn.locked.qwen3-8b-awq.tiny.r1'],
      'unstarted cells carry the attributes of the device they waited for',
    );
  });

  /** Visibility is eventually consistent: ask again until the answer holds, within a bounded time. */
  async function listIds(query: string, ok: (ids: string[]) => boolean, timeoutMs = 20_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ids: string[] = [];
      for await (const wf of w.env.client.workflow.list({ query })) ids.push(wf.workflowId);
      ids.sort();
      if (ok(ids) || Date.now() > deadline) return ids;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  it('makes a sweep started without search attributes, and its cells, findable while running and after', async () => {
    const gate = new Gate();
    const running = 'maxn.default.qwen3-8b-fp8.tiny.r1';
    const dev = new MockDevice('vis', {
      brokenModels: [AWQ.id],
      missingModels: [FP4.id],
      benchmarkGates: new Map([[running, gate]]),
    });
    const exp = experiment('vis');
    exp.matrix.model = [FP8, AWQ, FP4];
    // Started as `temporal workflow start` would: no search attributes, no memo.
    const handle = await w.startSweep('vis-1', exp);
    const done = dev.run(w.env.nativeConnection, handle.result());
    await gate.reached;

    const sweeps = await listIds(
      'WorkflowType = "sweep" AND ThorbenchExperiment = "vis" AND ThorbenchModels = "qwen3-8b-awq"',
      (ids) => ids.length > 0,
    );
    assert.deepEqual(sweeps, ['vis-1'], 'the sweep by experiment and model');
    const runningCells = await listIds(
      'ThorbenchSweep = "vis-1" AND ThorbenchCellStatus = "running" AND ThorbenchQuantizations = "fp8" ' +
        'AND ThorbenchDevice = "vis"',
      (ids) => ids.length > 0,
    );
    assert.deepEqual(runningCells, [`vis-1/${running}`], 'its running cell by status, quantization and device');
    assert.deepEqual(
      await listIds(
        'ThorbenchSweep = "vis-1" AND ThorbenchCellStatus = "running" AND ThorbenchQuantizations = "awq"',
        () => true,
      ),
      [],
      'no running AWQ cell',
    );
    // The model no device holds failed its cells before any engine started: they are workflows too.
    const noModel = await listIds(
      'ThorbenchSweep = "vis-1" AND ThorbenchCellStatus = "failed" AND ThorbenchQuantizations = "fp4"',
      (ids) => ids.length === 2,
    );
    assert.deepEqual(noModel, ['vis-1/maxn.default.qwen3-8b-fp4.tiny.r1', 'vis-1/maxn.locked.qwen3-8b-fp4.tiny.r1']);
    assert.deepEqual(
      await listIds(
        'ThorbenchSweep = "vis-1" AND ThorbenchQuantizations = "fp4" AND ThorbenchDevice = "vis"',
        () => true,
      ),
      [],
      'a cell on no device has no ThorbenchDevice',
    );
    gate.release();
    const summary = await done;
    assert.deepEqual(summary.counts, { succeeded: 2, failed: 3, skipped: 1, cancelled: 0 });
    const fp4Records = (await w.store.listCells('vis-1')).filter((c) => c.modelId === FP4.id);
    assert.deepEqual(
      fp4Records.map((c) => [c.status, c.failure?.type]),
      [
        ['failed', 'ModelNotFound'],
        ['failed', 'ModelNotFound'],
      ],
    );
    assert.equal(dev.called('startEngine').filter((c) => JSON.stringify(c.input).includes(FP4.id)).length, 0);

    const failed = await listIds(
      'ThorbenchSweep = "vis-1" AND ThorbenchCellStatus = "failed" AND ThorbenchQuantizations = "awq" ' +
        'AND ThorbenchDevice = "vis"',
      (ids) => ids.length > 0,
    );
    assert.deepEqual(
      failed,
      ['vis-1/maxn.default.qwen3-8b-awq.tiny.r1'],
      'its failed cells by status, quantization and device',
    );
    const skipped = await listIds(
      'ThorbenchSweep = "vis-1" AND ThorbenchCellStatus = "skipped"',
      (ids) => ids.length > 0,
    );
    assert.deepEqual(skipped, ['vis-1/maxn.locked.qwen3-8b-awq.tiny.r1']);
    const fp8 = await listIds(
      'ThorbenchSweep = "vis-1" AND ThorbenchCellStatus = "succeeded" AND ThorbenchQuantizations = "fp8"',
      (ids) => ids.length === 2,
    );
    assert.deepEqual(fp8, ['vis-1/maxn.default.qwen3-8b-fp8.tiny.r1', 'vis-1/maxn.locked.qwen3-8b-fp8.tiny.r1']);
    const locked = await listIds(
      'ThorbenchSweep = "vis-1" AND ThorbenchClocks = "locked" AND ThorbenchScenario = "tiny"',
      (ids) => ids.length === 3,
    );
    assert.equal(locked.length, 3, 'the locked cells of FP8, AWQ and FP4 (whose model is on no device)');
    assert.deepEqual(await listIds('ThorbenchSweep = "vis-1" AND ThorbenchDevice = "elsewhere"', () => true), []);

    // The sweep's result and memo: counts and the command that prints the report.
    assert.equal(summary.reportCommand, 'thorbench report vis-1');
    const described = await handle.describe();
    assert.deepEqual(described.memo?.thorbench, {
      experiment: 'vis',
      cells: 6,
      counts: summary.counts,
      reportCommand: 'thorbench report vis-1',
    });
    // A cell's result: headline metrics and where its full result lies.
    const cellResult = await w.env.client.workflow.getHandle<typeof cell>(`vis-1/${running}`).result();
    const record = (await w.store.getCell('vis-1', running, 1))!;
    assert.deepEqual(cellResult.headline, {
      request_throughput: record.metrics!.request_throughput,
      output_throughput: record.metrics!.output_throughput,
      mean_ttft_ms: record.metrics!.mean_ttft_ms,
      p99_ttft_ms: record.metrics!.p99_ttft_ms,
      mean_tpot_ms: record.metrics!.mean_tpot_ms,
      energy_per_output_token_j: null,
    });
    assert.equal(cellResult.reportPath, `/tmp/mock-results/vis-1/${running}/result.json`);
  });

  it('labels cells and steps, and the progress query names the step each cell is running', async () => {
    const exp = Experiment.parse(experiment('label'));
    const plan = planSweep(exp);
    const observed = new Map<string, string[]>();
    const remaining: (number | null)[] = [];
    let handle: Awaited<ReturnType<typeof w.startSweep>> | null = null;
    // Inside each step's activity: the sweep's progress must name that step for this device's cell.
    const onActivity = async (activity: string) => {
      const step = activity === 'teardownEngine' ? 'teardown' : activity;
      // The sweep's own calls to the device (the models check, the describeDevice its plan starts from, while the
      // sweep is starting) are not steps of a cell.
      if (!(STEP_NAMES as string[]).includes(step)) return;
      if ((await handle!.query(progressQuery)).state === 'starting') return;
      const deadline = Date.now() + 10_000;
      for (;;) {
        Context.current().heartbeat();
        const progress = await handle!.query(progressQuery);
        const current = progress.current.find((c) => c.deviceId === 'label');
        if (current?.step === step) {
          assert.ok(Date.parse(current.stepStartedAt) <= Date.now());
          observed.set(current.cellId, [...(observed.get(current.cellId) ?? []), step]);
          remaining.push(progress.remainingMs);
          return;
        }
        assert.ok(
          Date.now() < deadline,
          `progress never showed ${step} (it shows ${JSON.stringify(progress.current)})`,
        );
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const dev = new MockDevice('label', { onActivity });
    handle = await w.startSweep('label-1', experiment('label'));
    await dev.run(w.env.nativeConnection, handle.result());

    for (const c of plan.cells) {
      const record = (await w.store.getCell('label-1', c.id, 1))!;
      const ran = record.steps.filter((s) => s.result.kind === 'done').map((s) => s.step);
      assert.deepEqual(observed.get(c.id), ran, `${c.id}: the progress query named each step that ran`);
      const child = w.env.client.workflow.getHandle(`label-1/${c.id}`);
      const described = await child.describe();
      assert.equal(await described.staticSummary(), cellSummary(c, plan));
      assert.match((await described.staticDetails()) ?? '', new RegExp(`^\\*\\*${c.id.replace(/\./g, '\\.')}\\*\\*`));
      // Each step's activity carries its step's summary.
      const history = await child.fetchHistory();
      const summaries = (history.events ?? [])
        .map((e) => [e.activityTaskScheduledEventAttributes?.activityType?.name, e.userMetadata?.summary] as const)
        .filter(([name]) => name !== undefined && name !== 'recordCell')
        .map(([name, summary]) => [name, summary ? defaultPayloadConverter.fromPayload(summary) : null]);
      const expected = ran.map((step) => [
        step === 'teardown' ? 'teardownEngine' : step,
        stepSummary(step, c, exp.engine, exp.warmup ?? null),
      ]);
      assert.deepEqual(summaries, expected);
    }
    assert.equal(
      await w.env.client.workflow
        .getHandle('label-1/maxn.default.qwen3-8b-fp8.tiny.r1')
        .describe()
        .then((d) => d.staticSummary()),
      'FP8 · MAXN · clocks default · tiny (c=2, 4 prompts)',
    );
    assert.equal(
      stepSummary('benchmark', plan.cells[0]!, exp.engine, null),
      'benchmark tiny: 4 prompts at concurrency 2',
    );
    assert.ok(
      remaining.every((r) => typeof r === 'number' && r >= 0),
      `remainingMs while running: ${remaining.join(', ')}`,
    );
    assert.equal((await handle.query(progressQuery)).remainingMs, 0, 'nothing left once completed');
  });

  it("a sweep that fails before its first cell says why in the activity's own words, not Temporal's wrapper", async () => {
    const refused = 'sudo refused "nvpmodel -q": install deploy/sudoers.d/thorbench for the worker\'s user';
    const dev = new MockDevice('refuses', {
      onActivity: async (activity) => {
        if (activity === 'describeDevice') throw ApplicationFailure.nonRetryable(refused, FailureType.PrivilegeDenied);
      },
    });
    const handle = await w.startSweep('refuses-1', experiment('refuses'));
    const err = await dev.run(w.env.nativeConnection, handle.result()).then(
      () => assert.fail('the sweep completed'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError);
    assert.equal(err.cause?.message, 'Activity task failed', "Temporal's own wrapper says nothing");
    assert.equal(failureReason(err), `describeDevice: PrivilegeDenied: ${refused}`);
    assert.equal(dev.called('benchmark').length, 0);
  });

  it("a 40,000-cell sweep's progress is too large to list every cell, and answers a live view that asks for finished cells or none", async () => {
    const exp = experiment('huge', { repeats: 100 });
    exp.matrix.model = [0, 1, 2, 3].map((i) => ({ ...FP8, id: `qwen3-8b-fp8-${i}` }));
    exp.matrix.scenario = Array.from({ length: 50 }, (_, i) => ({ ...exp.matrix.scenario[0]!, name: `chat-${i}` }));
    // No device worker: the sweep waits to describe its device, with every cell pending.
    const handle = await w.startSweep('huge-1', exp);
    try {
      const ask = () => handle.query(progressQuery, { cells: 'none' }).catch(() => undefined);
      const none = await waitFor('an answer to the progress query', ask, 60_000, 200);
      assert.deepEqual([none.total, none.done, none.cells.length], [40_000, 0, 0]);
      const since = await handle.query(progressQuery, { finishedSince: 0 });
      assert.deepEqual([since.cells.length, since.cellsFrom], [0, 0]);
      // Every cell listed is past Temporal's 2 MB limit on a query's answer.
      await assert.rejects(handle.query(progressQuery), /Blob data size exceeds limit/);
    } finally {
      await handle.terminate();
    }
  });
});

describe('continue-as-new with in-memory devices', { timeout: 120_000 }, () => {
  // Suggest continue-as-new after a few dozen events, so a 6-cell sweep crosses several runs.
  const w = suiteWorkflowEnv(SUGGEST_CONTINUE_AS_NEW);

  it('carries finished cells and device state into the next run: each cell runs once, the engine is kept', async () => {
    const dev = new MockDevice('can', { powerModeId: 1 });
    const exp = experiment('can', { repeats: 3, steps: { heartbeatTimeout: 2_000, restoreDevice: true } });
    exp.matrix.model = [FP8];
    const handle = await w.startSweep('can-1', exp);
    const summary = await dev.run(w.env.nativeConnection, handle.result());
    assert.deepEqual(
      summary.counts,
      { succeeded: 6, failed: 0, skipped: 0, cancelled: 0 },
      'the last run counts the cells of earlier runs',
    );
    const lastRun = (await handle.describe()).runId;
    assert.notEqual(lastRun, handle.firstExecutionRunId, 'the sweep continued as new');
    const benchmarked = dev.called('benchmark').map((c) => (c.input as { cellId: string }).cellId);
    assert.equal(benchmarked.length, 6);
    assert.equal(new Set(benchmarked).size, 6, 'no cell ran twice across runs');
    assert.equal(await w.store.countRows('can-1'), 6);
    assert.equal(dev.called('warmup').length, 1, 'one engine served all six cells across runs');
    // The snapshot taken in the first run restores the device at the end of the last one.
    assert.equal(dev.called('describeDevice').length, 6 + 1, 'one snapshot, then one description per cell');
    assert.equal(dev.powerModeId, 1);
    const progress = await handle.query(progressQuery);
    assert.equal(progress.done, 6);
    assert.equal(progress.state, 'completed');

    // The last run was handed the cells finished before it as packed ids, not as a map of whole ids.
    const history = await w.env.client.workflow.getHandle('can-1', lastRun).fetchHistory();
    const started = history.events![0]!.workflowExecutionStartedEventAttributes!;
    const carry = defaultPayloadConverter.fromPayload<SweepCarry>(started.input!.payloads![1]!);
    assert.equal(carry.finished, undefined);
    const carried = unpackByValue(carry.finishedIds!);
    const ids = new Set(benchmarked);
    assert.ok(Object.keys(carried).length > 0, 'the last run started with cells finished');
    for (const [id, status] of Object.entries(carried)) assert.ok(ids.has(id) && status === 'succeeded', id);

    // Asked for the cells finished since a position, the sweep answers in the order they finished, across runs.
    const recent = await handle.query(progressQuery, { finishedSince: 0 });
    assert.equal(recent.cellsFrom, 0);
    assert.deepEqual(
      recent.cells.map((c) => `${c.id} ${c.status}`),
      benchmarked.map((id) => `${id} succeeded`),
    );
    const later = await handle.query(progressQuery, { finishedSince: 4 });
    assert.equal(later.cellsFrom, 4);
    assert.deepEqual(
      later.cells.map((c) => c.id),
      benchmarked.slice(4),
    );
    const none = await handle.query(progressQuery, { cells: 'none' });
    assert.deepEqual([none.cells, none.done], [[], 6]);
  });

  it('takes a carry in the form of sweeps started before packed ids: its cells are finished, not run', async () => {
    const dev = new MockDevice('can-old');
    const exp = experiment('can-old', { repeats: 3 });
    exp.matrix.model = [FP8];
    const [done, failed] = planSweep(Experiment.parse(exp)).cells.map((c) => c.id);
    const carry: SweepCarry = {
      finished: { [done!]: 'succeeded', [failed!]: 'failed' },
      failureTypes: { [failed!]: FailureType.EngineFailed },
      devices: ['can-old'],
      simulated: false,
      before: {},
    };
    // What the sweep's first run did before it continued: open the sweep's record.
    await w.store.upsertSweep({
      sweepId: 'can-old-1',
      experimentName: exp.name,
      experimentJson: JSON.stringify(exp),
      workflowId: 'can-old-1',
      simulated: false,
      plannedCells: 6,
      startedAt: new Date().toISOString(),
    });
    const handle = await w.startSweep('can-old-1', exp, { args: [exp, carry] });
    const summary = await dev.run(w.env.nativeConnection, handle.result());
    assert.deepEqual(summary.counts, { succeeded: 5, failed: 1, skipped: 0, cancelled: 0 });
    const benchmarked = dev.called('benchmark').map((c) => (c.input as { cellId: string }).cellId);
    assert.equal(benchmarked.length, 4);
    assert.ok(!benchmarked.includes(done!) && !benchmarked.includes(failed!), benchmarked.join(', '));
    const progress = await handle.query(progressQuery);
    assert.equal(progress.cells.find((c) => c.id === failed)?.failureType, FailureType.EngineFailed);
  });
});
