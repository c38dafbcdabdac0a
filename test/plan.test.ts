import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planSweep } from '../plan/plan.js';
import { Experiment } from '../schema/experiment.js';
import { repoJson } from './helpers/files.js';

const load = (name: string) => Experiment.parse(repoJson('experiments', `${name}.json`));

describe('planSweep', () => {
  it('loads each of the nine quantizations once for 18 cells', () => {
    const plan = planSweep(load('thor-quantization'));
    assert.equal(plan.counts.cells, 18);
    assert.equal(plan.counts.modelLoads, 9);
    assert.equal(plan.counts.powerModeChanges, 1);
    assert.equal(plan.counts.clockChanges, 1);
    assert.equal(plan.counts.reboots, 0);
    // Scenarios of one model run back to back on the loaded engine.
    assert.deepEqual(
      plan.cells.slice(0, 2).map((c) => c.id),
      ['maxn.locked.qwen3-8b-bf16.high-load.r1', 'maxn.locked.qwen3-8b-bf16.low-load.r1'],
    );
    assert.deepEqual(plan.cells.map((c) => c.startsEngine).filter(Boolean).length, 9);
    assert.equal(plan.cells.filter((c) => c.stopsEngine).length, 9);
  });

  it('orders the power/clocks sweep so each power mode loads the model once and locks clocks once', () => {
    const plan = planSweep(load('thor-power-clocks'));
    assert.equal(plan.counts.cells, 8);
    assert.equal(plan.counts.modelLoads, 2);
    assert.equal(plan.counts.powerModeChanges, 2);
    // default runs first after each nvpmodel switch (which resets clocks), then locked: one jetson_clocks per mode.
    assert.equal(plan.counts.clockChanges, 2);
    assert.deepEqual(
      plan.cells.map((c) => c.id),
      [
        'maxn.default.qwen3-8b-fp8.high-load.r1',
        'maxn.default.qwen3-8b-fp8.low-load.r1',
        'maxn.locked.qwen3-8b-fp8.high-load.r1',
        'maxn.locked.qwen3-8b-fp8.low-load.r1',
        '120w.default.qwen3-8b-fp8.high-load.r1',
        '120w.default.qwen3-8b-fp8.low-load.r1',
        '120w.locked.qwen3-8b-fp8.high-load.r1',
        '120w.locked.qwen3-8b-fp8.low-load.r1',
      ],
    );
    assert.deepEqual(
      plan.cells.map((c) => c.position),
      [0, 1, 2, 3, 4, 5, 6, 7],
    );
  });

  it('keeps modes of one power-gating group together so a reboot happens once per group', () => {
    const exp = load('thor-power-clocks');
    exp.matrix.power = [{ mode: 'MAXN' }, { mode: '90W' }, { mode: '120W' }, { mode: '70W' }];
    const plan = planSweep(exp);
    const order = [...new Set(plan.cells.map((c) => c.powerKey))];
    assert.deepEqual(order, ['maxn', '120w', '90w', '70w']);
    assert.equal(plan.counts.reboots, 1);
    assert.equal(plan.cells.filter((c) => c.mayReboot).map((c) => c.id)[0], '90w.default.qwen3-8b-fp8.high-load.r1');
  });

  it('drops excluded cells and numbers repeats', () => {
    const exp = load('thor-quantization');
    exp.repeats = 2;
    exp.exclude.push({ model: 'qwen3-8b-gguf-q5km', scenario: 'high-load' });
    const plan = planSweep(exp);
    assert.equal(plan.counts.cells, 34);
    assert.ok(plan.cells.some((c) => c.id === 'maxn.locked.qwen3-8b-bf16.high-load.r2'));
    assert.ok(!plan.cells.some((c) => c.id.startsWith('maxn.locked.qwen3-8b-gguf-q5km.high-load')));
    assert.equal(new Set(plan.cells.map((c) => c.id)).size, plan.cells.length);
  });

  it('is deterministic and gives a positive estimate', () => {
    const a = planSweep(load('thor-scenarios'));
    const b = planSweep(load('thor-scenarios'));
    assert.deepEqual(a, b);
    assert.equal(a.counts.cells, 15);
    assert.equal(a.counts.modelLoads, 5);
    assert.ok(a.estimatedSeconds > 5 * 150);
  });
});
