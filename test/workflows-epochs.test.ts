/**
 * Reboot epochs in the workflows (plan/plan.ts, docs/architecture.md "The plan"): the sweep starts in the epoch its
 * device is in and keeps that plan across continue-as-new; one engine serves a model across the power-mode changes
 * that need no reboot, warmed up again after each; a device that reboots anyway gets a fresh engine; and
 * `engine.restartOnPowerModeChange` restarts it at every change. In-memory devices (test/helpers/mock-device.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planSweep } from '../plan/plan.js';
import { Experiment, type ExperimentInput } from '../schema/experiment.js';
import type { StepResult } from '../schema/outcome.js';
import { type ExperimentParts, experimentInput } from './helpers/experiment.js';
import { recordHistories } from './helpers/histories.js';
import { MockDevice } from './helpers/mock-device.js';
import { SUGGEST_CONTINUE_AS_NEW, suiteWorkflowEnv } from './helpers/workflow-env.js';

const WARMUP = { inputLen: 16, outputLen: 2, numPrompts: 1 };

/** An experiment on the device of its own name, with Thor's power modes named. */
function epochExperiment(name: string, power: string[], parts: ExperimentParts = {}): ExperimentInput {
  return experimentInput(name, {
    device: { select: [name] },
    power: power.map((mode) => ({ mode })),
    steps: { heartbeatTimeout: 2_000 },
    ...parts,
  });
}

describe('reboot epochs with in-memory devices', { timeout: 120_000 }, () => {
  // Continue-as-new is suggested after a few dozen events, so a sweep here crosses runs: each must keep the plan.
  const w = suiteWorkflowEnv(SUGGEST_CONTINUE_AS_NEW);

  async function runSweep(dev: MockDevice, id: string, exp: ExperimentInput) {
    const handle = await w.startSweep(id, exp);
    const summary = await dev.run(w.env.nativeConnection, handle.result());
    const cells = await w.store.listCells(id);
    const step = (cellId: string, name: string): StepResult | undefined =>
      cells.find((c) => c.cellId === cellId)?.steps.find((s) => s.step === name)?.result;
    return { handle, summary, cells, step };
  }

  const benchmarked = (dev: MockDevice) => dev.called('benchmark').map((c) => (c.input as { cellId: string }).cellId);

  it('starts in the epoch the device is in, and keeps one engine per model across its power modes', async () => {
    const dev = new MockDevice('epochs', { powerModeId: 3 }); // 70W, DVFS clocks
    const exp = epochExperiment('epochs', ['MAXN', '120W', '90W', '70W'], { warmup: WARMUP });
    const { handle, summary, step } = await runSweep(dev, 'epochs-1', exp);
    assert.equal(summary.counts.succeeded, 8);
    assert.notEqual((await handle.describe()).runId, handle.firstExecutionRunId, 'the sweep continued as new');

    assert.equal(dev.calls[0]!.activity, 'describeDevice', 'the sweep asks the device where it is before planning');
    const fromDevice = planSweep(Experiment.parse(exp), { power: { mode: '70W', id: 3 }, clocks: 'default' });
    assert.deepEqual(
      benchmarked(dev),
      fromDevice.cells.map((c) => c.id),
      'every run followed the plan from the device',
    );
    assert.deepEqual(benchmarked(dev), [
      '70w.default.qwen3-8b-fp8.tiny.r1',
      '70w.locked.qwen3-8b-fp8.tiny.r1',
      '90w.default.qwen3-8b-fp8.tiny.r1',
      '90w.locked.qwen3-8b-fp8.tiny.r1',
      'maxn.default.qwen3-8b-fp8.tiny.r1',
      'maxn.locked.qwen3-8b-fp8.tiny.r1',
      '120w.default.qwen3-8b-fp8.tiny.r1',
      '120w.locked.qwen3-8b-fp8.tiny.r1',
    ]);
    assert.equal(dev.called('switchPowerModeWithReboot').length, 1, 'one reboot, from 90W/70W into MAXN/120W');

    // One engine per epoch, kept across the live switch; a warm-up after each start and after each switch.
    assert.deepEqual(dev.engineStarts, ['90w+70w.qwen3-8b-fp8', 'maxn+120w.qwen3-8b-fp8']);
    assert.equal(dev.called('teardownEngine').length, 2);
    assert.equal(dev.called('warmup').length, 4);
    for (const switched of ['90w.default.qwen3-8b-fp8.tiny.r1', '120w.default.qwen3-8b-fp8.tiny.r1']) {
      assert.deepEqual(step(switched, 'startEngine'), { kind: 'done' });
      assert.deepEqual(step(switched, 'warmup'), { kind: 'done' }, `${switched}: warmed up after the switch`);
      assert.equal(step(switched, 'teardown')?.kind, 'skipped');
    }
    assert.deepEqual(step('70w.locked.qwen3-8b-fp8.tiny.r1', 'warmup'), {
      kind: 'skipped',
      reason: 'engine already warm',
    });
    assert.equal(step('70w.locked.qwen3-8b-fp8.tiny.r1', 'teardown')?.kind, 'skipped', 'the engine stays for 90W');
    // The sweep's first run plans from the device; the 90W cell warms the kept engine up again.
    await recordHistories(w.env.client, [
      { workflowId: 'epochs-1', runId: handle.firstExecutionRunId },
      { workflowId: 'epochs-1/90w.default.qwen3-8b-fp8.tiny.r1' },
    ]);
  });

  it('without a warm-up configured, says so for the cell after a power-mode change', async () => {
    const dev = new MockDevice('epochs-no-warmup', { powerModeId: 0 });
    const exp = epochExperiment('epochs-no-warmup', ['MAXN', '120W'], { clocks: ['locked'] });
    const { summary, step } = await runSweep(dev, 'epochs-no-warmup-1', exp);
    assert.equal(summary.counts.succeeded, 2);
    assert.deepEqual(dev.engineStarts, ['maxn+120w.qwen3-8b-fp8']);
    assert.equal(dev.called('warmup').length, 0);
    assert.deepEqual(step('120w.locked.qwen3-8b-fp8.tiny.r1', 'warmup'), {
      kind: 'skipped',
      reason: 'no warmup configured',
    });
  });

  it('starts the engine afresh, warmed up, when the device reboots for a switch inside an epoch', async () => {
    // This device's nvpmodel puts 120W in a power-gating group of its own: the device, not the plan, decides.
    const dev = new MockDevice('epochs-reboot', { powerModeId: 0, powerGroups: { '120W': 7 } });
    const exp = epochExperiment('epochs-reboot', ['MAXN', '120W'], { clocks: ['locked'], warmup: WARMUP });
    const { summary, cells, step } = await runSweep(dev, 'epochs-reboot-1', exp);
    assert.equal(summary.counts.succeeded, 2);
    assert.equal(dev.called('switchPowerModeWithReboot').length, 1);
    // The reboot took the engine with it: the same engine group starts again, and warms up again.
    assert.deepEqual(dev.engineStarts, ['maxn+120w.qwen3-8b-fp8', 'maxn+120w.qwen3-8b-fp8']);
    assert.deepEqual(step('120w.locked.qwen3-8b-fp8.tiny.r1', 'warmup'), { kind: 'done' });
    assert.equal(cells.find((c) => c.power === '120w')?.device?.bootId, 'boot-2');
  });

  it('engine.restartOnPowerModeChange: a new engine at every power-mode change', async () => {
    const dev = new MockDevice('epochs-restart', { powerModeId: 0 });
    const exp = epochExperiment('epochs-restart', ['MAXN', '120W'], { clocks: ['locked'], warmup: WARMUP });
    exp.engine = { restartOnPowerModeChange: true };
    const { summary } = await runSweep(dev, 'epochs-restart-1', exp);
    assert.equal(summary.counts.succeeded, 2);
    assert.deepEqual(dev.engineStarts, ['maxn.qwen3-8b-fp8', '120w.qwen3-8b-fp8']);
    assert.equal(dev.called('teardownEngine').length, 2);
    assert.equal(dev.called('warmup').length, 2);
  });
});
