/**
 * Device failover (docs/architecture.md, "Failover") on a real Temporal server with in-memory devices
 * (test/helpers/mock-device.ts): a device whose worker stops answering loses its engine groups to the other devices,
 * every cell is recorded once, moved cells say which device they left and why, and a device that comes back takes
 * work again. test/fleet-failover.test.ts shows the same with simulated Thors, one of them SIGKILLed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ExperimentInput } from '../schema/experiment.js';
import { progressQuery } from '../workflows/messages.js';
import { Gate, MockDevice } from './helpers/mock-device.js';
import { waitFor } from './helpers/wait.js';
import { SUGGEST_CONTINUE_AS_NEW, suiteWorkflowEnv } from './helpers/workflow-env.js';

/** `models` models × 2 clocks on MAXN: one engine group of two cells per model, dealt to the devices in turn. */
function experiment(name: string, devices: string[], models: number): ExperimentInput {
  return {
    name,
    device: { select: devices, failoverAfterMs: 2_000 },
    matrix: {
      power: [{ mode: 'MAXN' }],
      clocks: ['default', 'locked'],
      model: Array.from({ length: models }, (_, i) => ({
        id: `m${i}`,
        path: `Org/M${i}`,
        quantization: 'fp8' as const,
        servedName: 'm',
      })),
      scenario: [{ name: 'tiny', inputLen: 64, outputLen: 8, numPrompts: 4, maxConcurrency: 2 }],
    },
    warmup: { inputLen: 16, outputLen: 2, numPrompts: 1 },
    steps: { heartbeatTimeout: 2_000 },
  };
}

const benchmarked = (d: MockDevice) => d.called('benchmark').map((c) => (c.input as { cellId: string }).cellId);
const modelOf = (cellId: string) => cellId.split('.')[2]!;

describe('device failover with in-memory devices', { timeout: 120_000 }, () => {
  const w = suiteWorkflowEnv();

  /** Every cell of the sweep recorded once, and succeeded. */
  async function assertRecordedOnce(sweepId: string, cells: number): Promise<void> {
    const records = await w.store.listCells(sweepId);
    assert.equal(records.length, cells);
    assert.deepEqual(await w.store.duplicateKeys(sweepId), []);
    for (const r of records) {
      assert.equal(r.status, 'succeeded', `${r.cellId}: ${r.failure?.message}`);
      assert.equal((await w.store.getCellMeta(sweepId, r.cellId, r.repeat))!.attempts, 1, `${r.cellId} recorded once`);
    }
  }

  it("moves a silent device's unfinished groups to the other device; each cell recorded once, moved ones say so", async () => {
    const exp = experiment('fo', ['fo-a', 'fo-b'], 4);
    // fo-a stops answering in its first benchmark (its worker shuts down mid-step): nothing of it is recorded.
    const dying = new Gate();
    const a = new MockDevice('fo-a', { benchmarkGates: new Map([['*', dying]]) });
    const b = new MockDevice('fo-b');
    const handle = await w.startSweep('fo-1', exp);
    const result = handle.result();
    const [summary] = await Promise.all([
      b.run(w.env.nativeConnection, result),
      a.run(w.env.nativeConnection, dying.reached),
    ]);
    assert.deepEqual(summary.counts, { succeeded: 8, failed: 0, skipped: 0, cancelled: 0 });
    await assertRecordedOnce('fo-1', 8);
    assert.deepEqual(benchmarked(a).length, 1, 'fo-a got as far as one benchmark');

    // fo-a had m0 and m2; both groups ran on fo-b, the interrupted cell again from the engine start.
    for (const r of await w.store.listCells('fo-1')) {
      assert.equal(r.device?.deviceId, 'fo-b');
      if (['m0', 'm2'].includes(r.modelId)) {
        assert.equal(r.movedFrom?.deviceId, 'fo-a', `${r.cellId} says it left fo-a`);
        assert.match(
          r.movedFrom!.reason,
          /no worker of thorbench-device-fo-a picked up benchmark within 2 s \(DeviceLost\)/,
        );
        assert.ok(Date.parse(r.movedFrom!.at) <= Date.parse(r.startedAt));
      } else assert.equal(r.movedFrom, undefined, `${r.cellId} never moved`);
    }
    assert.deepEqual([...new Set(benchmarked(b).map(modelOf))].sort(), ['m0', 'm1', 'm2', 'm3']);
    assert.equal(new Set(benchmarked(b)).size, 8, 'fo-b benchmarked each cell once');
    const m0Starts = b
      .called('startEngine')
      .filter((c) => (c.input as { engineGroup: string }).engineGroup === 'maxn.m0');
    assert.equal(m0Starts.length, 2, 'the moved group starts (then adopts) its engine on fo-b');

    const progress = await handle.query(progressQuery);
    assert.deepEqual(
      progress.lostDevices?.map((d) => d.deviceId),
      ['fo-a'],
      'fo-a never came back',
    );
    const moved = progress.cells.filter((c) => c.movedFrom).map((c) => modelOf(c.id));
    assert.deepEqual([...new Set(moved)].sort(), ['m0', 'm2']);
    assert.equal(moved.length, 4);
  });

  it('a device that comes back takes work again: unstarted groups from the busy device', async () => {
    const exp = experiment('back', ['back-a', 'back-b'], 6);
    const dying = new Gate();
    const a = new MockDevice('back-a', { benchmarkGates: new Map([['*', dying]]) });
    // back-b holds its first benchmark until back-a is back and has benchmarked, so work is left to share.
    const busy = new Gate();
    const b = new MockDevice('back-b', { benchmarkGates: new Map([['*', busy]]) });
    const handle = await w.startSweep('back-1', exp);
    const result = handle.result();
    const bRuns = b.run(w.env.nativeConnection, result);
    await a.run(w.env.nativeConnection, dying.reached);
    const lost = await waitFor(
      'back-a to be lost',
      async () => (await handle.query(progressQuery)).lostDevices?.find((d) => d.deviceId === 'back-a'),
      30_000,
      200,
    );
    assert.match(lost.reason, /DeviceLost/);

    // The same device, its worker restarted.
    const a2 = new MockDevice('back-a');
    const aRuns = a2.run(w.env.nativeConnection, result);
    await waitFor('back-a to benchmark again', () => (benchmarked(a2).length > 0 ? true : undefined), 30_000);
    assert.deepEqual((await handle.query(progressQuery)).lostDevices, [], 'back-a is no longer lost');
    busy.release();
    const [summary] = await Promise.all([bRuns, aRuns]);
    assert.deepEqual(summary.counts, { succeeded: 12, failed: 0, skipped: 0, cancelled: 0 });
    await assertRecordedOnce('back-1', 12);

    // back-b kept its busy group m1 and the rest of its queue; back-a took whole groups it had not started.
    const onA = new Set(benchmarked(a2).map(modelOf));
    const onB = new Set(benchmarked(b).map(modelOf));
    assert.ok(onA.size >= 1 && !onA.has('m1'), `back-a took whole unstarted groups: ${[...onA]}`);
    for (const m of onA) assert.ok(!onB.has(m), `${m} ran on one device only`);
    assert.equal(benchmarked(a2).length + benchmarked(b).length, 12, 'each cell benchmarked once after the loss');
    for (const r of await w.store.listCells('back-1')) {
      const fromA = ['m0', 'm2', 'm4'].includes(r.modelId);
      assert.equal(r.movedFrom?.deviceId, fromA ? 'back-a' : undefined, `${r.cellId}: moved only if it was on back-a`);
    }
  });
});

describe('device failover across continue-as-new', { timeout: 120_000 }, () => {
  // Suggest continue-as-new after a few dozen events, so the sweep crosses runs after losing a device.
  const w = suiteWorkflowEnv(SUGGEST_CONTINUE_AS_NEW);

  it('carries the lost device and the moved cells into the next run: each cell once, moved ones say so', async () => {
    const exp = experiment('fcan', ['fcan-a', 'fcan-b'], 3);
    const dying = new Gate();
    const a = new MockDevice('fcan-a', { benchmarkGates: new Map([['*', dying]]) });
    const b = new MockDevice('fcan-b');
    const handle = await w.startSweep('fcan-1', exp);
    const result = handle.result();
    const [summary] = await Promise.all([
      b.run(w.env.nativeConnection, result),
      a.run(w.env.nativeConnection, dying.reached),
    ]);
    assert.deepEqual(summary.counts, { succeeded: 6, failed: 0, skipped: 0, cancelled: 0 });
    assert.notEqual((await handle.describe()).runId, handle.firstExecutionRunId, 'the sweep continued as new');
    const records = await w.store.listCells('fcan-1');
    assert.equal(records.length, 6);
    assert.deepEqual(await w.store.duplicateKeys('fcan-1'), []);
    for (const r of records) {
      assert.equal((await w.store.getCellMeta('fcan-1', r.cellId, 1))!.attempts, 1, `${r.cellId} recorded once`);
      assert.equal(r.device?.deviceId, 'fcan-b');
      const fromA = ['m0', 'm2'].includes(r.modelId);
      assert.equal(r.movedFrom?.deviceId, fromA ? 'fcan-a' : undefined, `${r.cellId}: moved only if it was on fcan-a`);
    }
    assert.equal(new Set(benchmarked(b)).size, 6, 'fcan-b benchmarked each cell once, across runs');
    const progress = await handle.query(progressQuery);
    assert.deepEqual(
      progress.lostDevices?.map((d) => d.deviceId),
      ['fcan-a'],
    );
    assert.equal(progress.cells.filter((c) => c.movedFrom?.deviceId === 'fcan-a').length, 4);
  });
});
