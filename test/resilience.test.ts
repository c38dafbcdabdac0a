/**
 * The promise of thorbench, tested by doing the damage for real on the simulated Thor and a real Temporal server:
 * a device that reboots for a power mode, engines that crash, go OOM or never become healthy, a cancelled sweep, and a
 * Temporal server restarted mid-sweep. Each sweep must finish with every planned cell recorded exactly once and
 * nothing left running. The worker SIGKILLed again and again is test/resilience-chaos.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ensureDevServer, stopDevServer } from '../server/dev-server.js';
import { readSimState } from '../sim/device.js';
import { progressQuery } from '../workflows/messages.js';
import { runCli } from './helpers/cli.js';
import { TEST_MODELS } from './helpers/experiment.js';
import { tempDir } from './helpers/files.js';
import { LOW_LOAD, assertCleanDevice, assertExactlyPlanned, resilienceExperiment } from './helpers/resilience.js';
import { type SimFleet, startSimFleet } from './helpers/sim-fleet.js';
import { sleep } from './helpers/wait.js';

describe('resilience on the simulated Thor', { timeout: 900_000 }, () => {
  let fleet: SimFleet;
  const deviceWorker = (id: string, speed: number) => fleet.addDevice(id, speed);

  before(async () => {
    fleet = await startSimFleet(tempDir('resilience'));
  });
  after(() => fleet?.stop());

  it('records engine crashes, OOM kills and health timeouts as typed failures and goes on', async () => {
    const { worker, simDir } = deviceWorker('sim-faults', 4);
    const fault = (id: string, kind: string) => ({
      id,
      path: `Faulty/${id}`,
      quantization: 'fp8' as const,
      servedName: 'qwen3',
      env: { THORBENCH_SIM_FAULT: kind },
    });
    const exp = await resilienceExperiment('sim-faults', {
      models: [
        fault('crash-first-request', 'crash-on-first-request'),
        fault('oom-on-load', 'oom-on-load'),
        fault('never-healthy', 'never-healthy'),
        fault('crash-on-load', 'crash-on-load'),
        TEST_MODELS.fp8,
      ],
      clocks: ['locked'],
      steps: { heartbeatTimeout: 4_000, timeouts: { waitForHealth: 8_000 } },
    });
    const summary = await fleet
      .startSweep(exp)
      .then((handle) => handle.result())
      .catch((err: Error & { cause?: Error & { cause?: Error } }) => {
        throw new Error(`${err.message}: ${err.cause?.message} / ${err.cause?.cause?.message}`);
      });
    assert.equal(summary.cells, 10);
    await assertExactlyPlanned(fleet, 'sim-faults', exp);
    const cells = await fleet.store.listCells('sim-faults');
    const first = (model: string) => cells.find((c) => c.modelId === model && c.scenario === 'low')!;
    const expectations: [string, string, number | null, boolean][] = [
      ['crash-first-request', 'EngineCrashed', 1, false],
      ['oom-on-load', 'EngineOOMKilled', 137, true],
      ['never-healthy', 'HealthTimeout', null, false],
      ['crash-on-load', 'EngineCrashed', 1, false],
    ];
    for (const [model, type, exitCode, oom] of expectations) {
      const c = first(model);
      assert.equal(c.status, 'failed', model);
      assert.equal(c.failure?.type, type, `${model}: ${c.failure?.message}`);
      assert.equal(c.failure?.retryable, false);
      assert.equal(c.engine?.exitCode, exitCode, model);
      assert.equal(c.engine?.oomKilled, oom, model);
      assert.ok((c.engine?.logTail ?? '').length > 0, `${model} has a log tail`);
      const rest = cells.find((x) => x.modelId === model && x.scenario === 'high')!;
      assert.equal(rest.status, 'skipped');
    }
    for (const c of cells.filter((x) => x.modelId === 'qwen3-8b-fp8'))
      assert.equal(c.status, 'succeeded', JSON.stringify(c.failure));
    await worker.stop();
    await assertCleanDevice(simDir);
  });

  it('reboots the device for a power mode across power-gating groups and carries on', async () => {
    const { worker, simDir } = deviceWorker('sim-reboot', 4);
    const exp = await resilienceExperiment('sim-reboot', {
      models: [TEST_MODELS.fp8],
      power: [{ mode: 'MAXN' }, { mode: '90W' }],
      clocks: ['locked'],
      scenarios: [LOW_LOAD],
    });
    const bootBefore = readSimState(simDir).bootId;
    const summary = await (await fleet.startSweep(exp)).result();
    assert.equal(
      summary.counts.succeeded,
      2,
      JSON.stringify((await fleet.store.listCells('sim-reboot')).map((c) => c.failure)),
    );
    await assertExactlyPlanned(fleet, 'sim-reboot', exp);
    const after90 = (await fleet.store.listCells('sim-reboot')).find((c) => c.power === '90w')!;
    assert.equal(after90.device?.powerModeName, '90W');
    assert.equal(after90.device?.clocksLocked, true, 'clocks re-applied after the reboot');
    assert.notEqual(after90.device?.bootId, bootBefore);
    assert.ok(after90.steps.some((s) => s.step === 'rebootForPowerMode' && s.result.kind === 'done'));
    assert.ok(worker.exits >= 1, 'the reboot killed the worker, and it was started again');
    await worker.stop();
    await assertCleanDevice(simDir);
  });

  it('cancels a sweep cleanly: engine torn down, device restored, unrun cells recorded as cancelled', async () => {
    const { worker, simDir } = deviceWorker('sim-cancel', 1);
    const exp = await resilienceExperiment('sim-cancel', { steps: { heartbeatTimeout: 4_000, restoreDevice: true } });
    const before = readSimState(simDir);
    const handle = await fleet.startSweep(exp);
    while ((await handle.query(progressQuery)).done < 1) await sleep(250);
    const cancelled = await runCli(['cancel', 'sim-cancel'], {
      env: { TEMPORAL_ADDRESS: fleet.server.server.address },
    });
    assert.equal(cancelled.code, 0);
    assert.match(cancelled.stdout, /cancellation requested for sweep sim-cancel/);
    await assert.rejects(handle.result());
    const cells = await fleet.store.listCells('sim-cancel');
    await assertExactlyPlanned(fleet, 'sim-cancel', exp);
    assert.ok(cells.some((c) => c.status === 'succeeded'));
    assert.ok(cells.some((c) => c.status === 'cancelled'));
    assert.equal((await fleet.store.getSweep('sim-cancel'))?.state, 'cancelled');
    const now = readSimState(simDir);
    assert.equal(now.powerModeId, before.powerModeId, 'power mode restored');
    assert.equal(now.clocks.locked, before.clocks.locked, 'clocks restored');
    await worker.stop();
    await assertCleanDevice(simDir);
  });

  it('resumes a sweep after the Temporal server is killed and started again on its SQLite file', async () => {
    const { worker, simDir } = deviceWorker('sim-server', 4);
    const exp = await resilienceExperiment('sim-server', {});
    const handle = await fleet.startSweep(exp);
    while ((await handle.query(progressQuery)).done < 2) await sleep(250);
    stopDevServer(fleet.server.home, 'SIGKILL');
    await sleep(2_000);
    await ensureDevServer({ home: fleet.server.home, port: fleet.server.port, headless: true });
    const summary = await handle.result();
    assert.equal(summary.counts.succeeded, 8, JSON.stringify(summary.counts));
    await assertExactlyPlanned(fleet, 'sim-server', exp);
    await worker.stop();
    await assertCleanDevice(simDir);
  });
});
