import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  calibrate,
  emptyCalibration,
  estimateCellMs,
  estimateRemainingMs,
  finishedSteps,
  plannedStepCosts,
  stepRatio,
} from '../plan/estimate.js';
import { TRANSITION_COST_S, planSweep } from '../plan/plan.js';
import { Experiment } from '../schema/experiment.js';

const exp = Experiment.parse({
  name: 'estimate',
  matrix: {
    power: [{ mode: 'MAXN' }, { mode: '90W' }],
    clocks: ['locked'],
    model: [{ id: 'm', path: 'M/m', quantization: 'fp8' }],
    scenario: [
      { name: 'a', inputLen: 1000, outputLen: 100, numPrompts: 10, maxConcurrency: 5 },
      { name: 'b', inputLen: 1000, outputLen: 100, numPrompts: 10, maxConcurrency: 10 },
    ],
  },
  warmup: { inputLen: 8, outputLen: 8, numPrompts: 4 },
});
const plan = planSweep(exp);
const [first, second, third] = plan.cells;

describe('plannedStepCosts', () => {
  it("follows the plan: load, warm-up and flush on a group's first cell, the reboot where it may happen", () => {
    const costs = plannedStepCosts(first!, 4);
    assert.equal(costs.waitForHealth, TRANSITION_COST_S.modelLoad * 1000);
    assert.equal(costs.warmup, 4 * TRANSITION_COST_S.warmupPerPrompt * 1000);
    assert.ok(costs.flushCaches! > 0);
    assert.equal(costs.rebootForPowerMode, 0, 'MAXN first: no reboot');
    // 2 waves of 25 ms decode steps × 100 tokens + prefill
    assert.equal(costs.benchmark, Math.round(2 * (0.00025 * 1000 + 0.025 * 100) * 1000));
    const reused = plannedStepCosts(second!, 4);
    assert.equal(reused.warmup, 0);
    assert.equal(reused.flushCaches, 0);
    assert.ok(reused.teardown! > 0, 'the last cell of its group tears the engine down');
    assert.equal(
      plannedStepCosts(third!, 4).rebootForPowerMode,
      TRANSITION_COST_S.reboot * 1000,
      'MAXN → 90W crosses power-gating groups',
    );
  });
});

describe('estimate of the time left', () => {
  it('stands by the plan until a step was measured, then scales each step kind by what it really took', () => {
    const cal = emptyCalibration();
    const planned = plannedStepCosts(first!, 4);
    assert.equal(
      estimateCellMs(planned, cal),
      Object.values(planned).reduce((a, b) => a + b!, 0),
    );
    // The benchmark ran 10× faster than planned, the model load took as long as planned.
    calibrate(cal, planned, [
      { step: 'benchmark', durationMs: planned.benchmark! / 10 },
      { step: 'waitForHealth', durationMs: planned.waitForHealth! },
    ]);
    assert.equal(stepRatio(cal, 'benchmark'), 0.1);
    assert.equal(stepRatio(cal, 'waitForHealth'), 1);
    // A step of a cost not measured yet takes its kind's ratio; one of a measured cost, that cost's own.
    calibrate(cal, { waitForHealth: 500 }, [{ step: 'waitForHealth', durationMs: 5_000 }]);
    assert.equal(stepRatio(cal, 'waitForHealth', 500), 10, 'an adopted engine scales apart from a model load');
    assert.equal(stepRatio(cal, 'waitForHealth', planned.waitForHealth), 1);
    assert.equal(stepRatio(cal, 'benchmark', 1), 0.1);
    // A kind never measured takes the ratio over all measured time.
    const overall =
      (planned.benchmark! / 10 + planned.waitForHealth! + 5_000) / (planned.benchmark! + planned.waitForHealth! + 500);
    assert.equal(stepRatio(cal, 'warmup'), overall);
  });

  it('adds the cells of a device and takes the slowest device; an in-flight cell counts what is left of it', () => {
    const cal = emptyCalibration();
    const one = { benchmark: 10_000 };
    assert.equal(
      estimateRemainingMs(
        [
          [
            { planned: one, startedAt: null },
            { planned: one, startedAt: null },
          ],
          [{ planned: one, startedAt: null }],
        ],
        cal,
        0,
      ),
      20_000,
    );
    assert.equal(estimateRemainingMs([[{ planned: one, startedAt: 1_000 }]], cal, 5_000), 6_000);
    assert.equal(
      estimateRemainingMs([[{ planned: one, startedAt: 0 }]], cal, 60_000),
      0,
      'an overdue cell counts nothing, not less',
    );
    assert.equal(estimateRemainingMs([], cal, 0), 0);
  });

  it('adds the mean time finished cells spent outside their steps (starting and recording a cell)', () => {
    const cal = emptyCalibration();
    calibrate(cal, { benchmark: 1_000 }, [{ step: 'benchmark', durationMs: 1_000 }], 1_600);
    calibrate(cal, { benchmark: 1_000 }, [{ step: 'benchmark', durationMs: 1_000 }], 1_200);
    assert.equal(estimateCellMs({ benchmark: 1_000 }, cal), 1_000 + 400);
  });

  it("takes the durations of a running cell's finished steps from the starts of its steps", () => {
    assert.deepEqual(
      finishedSteps([
        { step: 'ensurePowerMode', startedAt: 1_000 },
        { step: 'ensureClocks', startedAt: 1_300 },
        { step: 'benchmark', startedAt: 2_000 },
      ]),
      [
        { step: 'ensurePowerMode', durationMs: 300 },
        { step: 'ensureClocks', durationMs: 700 },
      ],
    );
    assert.deepEqual(finishedSteps([]), []);
  });

  it('ignores steps the plan gives no cost (nothing to scale)', () => {
    const cal = emptyCalibration();
    calibrate(cal, { rebootForPowerMode: 0 }, [{ step: 'rebootForPowerMode', durationMs: 5_000 }]);
    assert.deepEqual(cal, emptyCalibration());
  });
});
