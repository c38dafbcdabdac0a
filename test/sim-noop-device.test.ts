/**
 * The simulator's no-op device (sim/noop-device.ts), its activities called directly: they answer at once but keep
 * the rules the workflows rely on — "ensure" steps that do nothing when the state holds, a power-gating change that
 * needs a reboot, an engine adopted by the next cell of its group, a benchmark that returns an earlier attempt's
 * result, typed failures — and its metrics come from request records run in virtual time, marked as no-op.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { planSweep } from '../plan/plan.js';
import { ensureSimDevice, readSimState, simDeviceProfile, writeSimFaults } from '../sim/device.js';
import { NOOP_HARNESS, createNoopDeviceActivities } from '../sim/noop-device.js';
import type { Experiment } from '../schema/experiment.js';
import { TEST_MODELS, experiment } from './helpers/experiment.js';
import { tempDir } from './helpers/files.js';

const dir = tempDir('sim-noop');
const dev = ensureSimDevice(path.join(dir, 'sim'), { id: 'noop', powerModeId: 1 });
const acts = createNoopDeviceActivities(simDeviceProfile(dev, path.join(dir, 'results'), { noop: true }));
const exp: Experiment = experiment('noop', { clocks: ['locked'], models: [TEST_MODELS.fp8, TEST_MODELS.awq] });
const cells = planSweep(exp).cells;
const fp8 = cells.find((c) => c.model.id === TEST_MODELS.fp8.id)!;
const awq = cells.find((c) => c.model.id === TEST_MODELS.awq.id)!;
const WARMUP = { inputLen: 32, outputLen: 4, numPrompts: 1 };

function startInput(c: typeof fp8) {
  return { sweepId: 's', cellId: c.id, engineGroup: c.engineGroup, engine: exp.engine, model: c.model };
}

function benchInput(c: typeof fp8, containerName: string) {
  const endpoint = { containerName, port: exp.engine.port, servedName: c.model.servedName, modelPath: c.model.path };
  return { ...endpoint, harness: exp.harness, sweepId: 's', cellId: c.id, scenario: c.scenario, repeat: 1 };
}

async function failureType(p: Promise<unknown>): Promise<string | undefined> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(err instanceof ApplicationFailure, `expected a typed failure, got ${String(err)}`);
  return err.type ?? undefined;
}

describe("the simulator's no-op device", () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('switches power mode and clocks in place, and asks for a reboot across power-gating masks', async () => {
    const maxn = await acts.ensurePowerMode({ power: { mode: 'MAXN' } });
    assert.equal(maxn.outcome, 'switched');
    assert.equal((await acts.ensurePowerMode({ power: { id: 0 } })).outcome, 'already');
    assert.deepEqual(await acts.ensureClocks({ clocks: 'locked' }), { outcome: 'locked', locked: true });
    assert.equal((await acts.ensureClocks({ clocks: 'locked' })).outcome, 'already');
    const back = await acts.readBackDevice();
    assert.deepEqual(back.powerMode, { name: 'MAXN', id: 0 });
    assert.equal(back.clocks?.locked, true);
    assert.equal(back.clocks?.gpuMhz, back.clocks?.gpuMaxMhz);

    // 90W has another TPC power-gating mask: the step says so, and the "reboot" gives a new boot in the new mode.
    const w90 = await acts.ensurePowerMode({ power: { mode: '90W' } });
    assert.equal(w90.outcome, 'reboot-required');
    const switched = await acts.switchPowerModeWithReboot({ modeId: w90.to.id, bootIdBefore: w90.bootId });
    assert.equal(switched.outcome, 'reboot-started');
    const after = await acts.probeAfterReboot();
    assert.notEqual(after.bootId, w90.bootId);
    assert.equal(after.powerMode.id, w90.to.id);
    assert.equal((await acts.describeDevice()).clocksLocked, false, 'a reboot unlocks the clocks');
    assert.equal(
      (await acts.switchPowerModeWithReboot({ modeId: w90.to.id, bootIdBefore: w90.bootId })).outcome,
      'rebooted',
    );
    assert.equal(readSimState(dev.dir).powerModeId, w90.to.id, "the simulator's own state says so");
    assert.equal(await failureType(acts.ensurePowerMode({ power: { mode: '15W' } })), 'PowerModeUnavailable');
  });

  it('starts an engine the next cell of its group adopts, and benchmarks in virtual time once', async () => {
    const started = await acts.startEngine(startInput(fp8));
    assert.equal(started.started, true);
    assert.equal((await acts.startEngine(startInput(fp8))).started, false, 'adopted');
    assert.match(
      (await acts.waitForHealth({ ...started, port: 8000, servedName: 'qwen3', timeoutMs: 1_000 })).version!,
      /\+sim.*\.noop$/,
    );

    const run = await acts.benchmark(benchInput(fp8, started.containerName));
    assert.equal(run.reused, false);
    assert.equal(run.harness.command[0], NOOP_HARNESS);
    assert.equal(run.metrics.completed, fp8.scenario.numPrompts);
    assert.ok(run.metrics.output_throughput > 0 && run.metrics.mean_ttft_ms! > 0 && run.metrics.mean_tpot_ms! > 0);
    assert.deepEqual(run.energy, { status: 'unavailable', reason: 'no-op simulator: no telemetry' });
    const saved = JSON.parse(readFileSync(path.join(run.artifactsDir, 'result.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    assert.equal(saved.noop, true);
    assert.equal(saved.simulated, true);
    assert.ok(existsSync(path.join(run.artifactsDir, 'requests.json')));

    const again = await acts.benchmark(benchInput(fp8, started.containerName));
    assert.equal(again.reused, true, "a retried benchmark returns the earlier attempt's result");
    assert.deepEqual(again.metrics, run.metrics);

    // Another model's engine replaces this one; the removed engine serves nothing any more.
    const other = await acts.startEngine(startInput(awq));
    assert.deepEqual(other.removedStale, [started.containerName]);
    assert.equal(
      await failureType(acts.warmup({ ...benchInput(fp8, started.containerName), warmup: WARMUP })),
      'EngineCrashed',
    );
    assert.deepEqual(await acts.teardownAllEngines(), { removed: [other.containerName] });
  });

  it("fails a model the device lacks as ModelNotFound, as the simulator's missingModels fault says", async () => {
    writeSimFaults(dev.dir, { missingModels: [TEST_MODELS.awq.path] });
    assert.deepEqual(
      (await acts.checkModelsPresent({ modelsDir: exp.engine.modelsDir, models: [fp8.model, awq.model] })).missing,
      [{ id: awq.model.id, path: awq.model.path }],
    );
    assert.equal(await failureType(acts.startEngine(startInput(awq))), 'ModelNotFound');
    writeSimFaults(dev.dir, {});
  });
});
