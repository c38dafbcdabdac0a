import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Plan, type PlannedCell, planNaive, planSweep, planSweepBeforeEpochs } from '../plan/plan.js';
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

  it('keeps one engine across MAXN and 120W, and locks clocks once per power mode', () => {
    const plan = planSweep(load('thor-power-clocks'));
    assert.equal(plan.counts.cells, 8);
    assert.equal(plan.counts.modelLoads, 1, 'MAXN and 120W switch without a reboot: one engine serves both');
    assert.equal(plan.counts.warmups, 2, 'one warm-up after the load, one after the switch to 120W');
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

/** Runs of consecutive cells that share an engine group. */
function engineRuns(plan: Plan): PlannedCell[][] {
  const runs: PlannedCell[][] = [];
  for (const c of plan.cells) {
    if (runs.at(-1)?.[0]!.engineGroup === c.engineGroup) runs.at(-1)!.push(c);
    else runs.push([c]);
  }
  return runs;
}

/** The power-gating group of each Thor power key: MAXN/120W is one reboot epoch, 90W/70W the other. */
const EPOCH: Record<string, string> = { maxn: 'maxn+120w', '120w': 'maxn+120w', '90w': '90w+70w', '70w': '90w+70w' };

describe('reboot epochs on the full matrix', () => {
  const full = load('thor-full-matrix');

  it('is the guide matrix: 4 power modes × 2 clocks × the 9 quantizations × 5 scenarios', () => {
    assert.deepEqual(
      full.matrix.power.map((p) => p.mode),
      ['MAXN', '120W', '90W', '70W'],
    );
    assert.deepEqual(full.matrix.clocks, ['default', 'locked']);
    assert.deepEqual(full.matrix.model, load('thor-quantization').matrix.model);
    const guideScenarios = [...load('thor-power-clocks').matrix.scenario, ...load('thor-scenarios').matrix.scenario];
    assert.deepEqual(full.matrix.scenario, guideScenarios);
    assert.deepEqual(full.exclude, []);
  });

  it('loads each model once per reboot epoch: 360 cells, 18 loads, 1 reboot', () => {
    const plan = planSweep(full);
    assert.equal(plan.counts.cells, 360);
    assert.equal(plan.counts.modelLoads, 18);
    assert.equal(plan.counts.reboots, 1);
    // Each model runs its two power modes of an epoch on one engine; the next model starts where the last one ended.
    assert.equal(plan.counts.powerModeChanges, 20);
    // "default" then "locked" in each power mode: nvpmodel -m resets the clocks to DVFS, so one jetson_clocks per
    // power mode and model, and an unlock where a model follows in the same (locked) power mode: 2 + 8 × 3 per epoch.
    assert.equal(plan.counts.clockChanges, 52);
    assert.equal(plan.counts.warmups, 36, 'a warm-up after each load and after each power change on a loaded engine');
    const runs = engineRuns(plan);
    assert.equal(runs.length, 18);
    for (const run of runs) {
      const { model, powerKey } = run[0]!;
      assert.equal(run[0]!.engineGroup, `${EPOCH[powerKey]}.${model.id}`);
      assert.ok(run.every((c) => c.model.id === model.id && EPOCH[c.powerKey] === EPOCH[powerKey]));
      assert.equal(run.length, 20, 'both power modes of the epoch × 2 clocks × 5 scenarios');
      assert.equal(run.filter((c) => c.startsEngine).length, 1);
      assert.ok(run.at(-1)!.stopsEngine && run.slice(0, -1).every((c) => !c.stopsEngine));
    }
    // Each engine group runs once: the sweep deals whole groups to devices.
    assert.equal(new Set(runs.map((r) => r[0]!.engineGroup)).size, 18);
    assert.deepEqual(
      plan.cells.filter((c) => c.mayReboot).map((c) => c.id),
      ['90w.default.qwen3-8b-bf16.high-load.r1'],
    );
    // After a power change the clocks are DVFS: a power mode starts with "default", then locks once.
    for (const c of plan.cells.filter((x) => x.changesPowerMode)) {
      assert.equal(c.clocks, 'default', c.id);
      assert.equal(c.changesClocks, false, c.id);
    }
  });

  it('against the naive nested-loop order: a quarter of the model loads, more cheap switches', () => {
    const naive = planNaive(full);
    assert.equal(naive.counts.cells, 360);
    // power → clocks → model → scenario: every model block loads its model, 4 × 2 × 9 times.
    assert.equal(naive.counts.modelLoads, 72);
    assert.equal(naive.counts.powerModeChanges, 4);
    assert.equal(naive.counts.reboots, 1, 'the file lists MAXN/120W before 90W/70W');
    assert.equal(naive.counts.clockChanges, 4);
    assert.equal(naive.counts.warmups, 72);
    assert.deepEqual(
      naive.cells.slice(0, 6).map((c) => c.id),
      [
        'maxn.default.qwen3-8b-bf16.high-load.r1',
        'maxn.default.qwen3-8b-bf16.low-load.r1',
        'maxn.default.qwen3-8b-bf16.chat.r1',
        'maxn.default.qwen3-8b-bf16.throughput.r1',
        'maxn.default.qwen3-8b-bf16.long-context.r1',
        'maxn.default.qwen3-8b-fp8.high-load.r1',
      ],
    );
    // The same power mode and model under the other clocks is another engine (other models ran in between).
    assert.equal(new Set(engineRuns(naive).map((r) => r[0]!.engineGroup)).size, 72);
    const plan = planSweep(full);
    assert.deepEqual(new Set(plan.cells.map((c) => c.id)), new Set(naive.cells.map((c) => c.id)), 'the same cells');
    assert.ok(plan.estimatedSeconds < naive.estimatedSeconds);
  });

  it('starts in the reboot epoch the device is in: at 70W, the 90W/70W cells run first without a reboot', () => {
    const plan = planSweep(full, { power: { mode: '70W', id: 3 }, clocks: 'default' });
    assert.equal(plan.counts.modelLoads, 18);
    assert.equal(plan.counts.reboots, 1, 'one reboot, into MAXN/120W after the 90W/70W half');
    const first = plan.cells[0]!;
    assert.equal(first.id, '70w.default.qwen3-8b-bf16.high-load.r1');
    assert.equal(first.changesPowerMode, false, 'the device is already at 70W');
    assert.equal(first.changesClocks, false, 'and at DVFS clocks');
    assert.equal(first.mayReboot, false);
    assert.ok(plan.cells.slice(0, 180).every((c) => c.powerKey === '90w' || c.powerKey === '70w'));
    assert.ok(plan.cells.slice(180).every((c) => c.powerKey === 'maxn' || c.powerKey === '120w'));
    assert.deepEqual(
      plan.cells.filter((c) => c.mayReboot).map((c) => c.position),
      [180],
    );
    // Without a start the plan takes the device to be in MAXN/120W: MAXN/120W first, and the same single reboot.
    assert.equal(planSweep(full).cells[0]!.powerKey, 'maxn');
  });

  it('starts each model in the power mode the device is in: the one the previous model ended in', () => {
    const plan = planSweep(full, { power: { mode: '120W', id: 1 }, clocks: 'locked' });
    assert.equal(plan.counts.powerModeChanges, 19, 'no change before the first cell');
    assert.equal(plan.cells[0]!.changesClocks, true, 'the device had its clocks locked: "default" unlocks them');
    const order = engineRuns(plan)
      .slice(0, 3)
      .map((run) => [...new Set(run.map((c) => `${c.powerKey}.${c.clocks}`))]);
    assert.deepEqual(order, [
      ['120w.default', '120w.locked', 'maxn.default', 'maxn.locked'],
      ['maxn.default', 'maxn.locked', '120w.default', '120w.locked'],
      ['120w.default', '120w.locked', 'maxn.default', 'maxn.locked'],
    ]);
    // A matrix that names its modes by id finds the device's mode by id (the device reports name and id).
    const byId = load('thor-full-matrix');
    byId.matrix.power = [{ id: 0 }, { id: 1 }, { id: 2 }, { id: 3 }];
    assert.equal(planSweep(byId, { power: { mode: '70W', id: 3 } }).cells[0]!.powerKey, 'mode3');
  });

  it('engine.restartOnPowerModeChange: one engine per power mode and model, as before reboot epochs', () => {
    const exp = load('thor-full-matrix');
    exp.engine.restartOnPowerModeChange = true;
    const plan = planSweep(exp, { power: { mode: '70W', id: 3 }, clocks: 'default' });
    assert.equal(plan.counts.modelLoads, 36);
    assert.equal(plan.counts.warmups, 36, 'warm-ups only after loads');
    assert.equal(plan.counts.powerModeChanges, 3, 'power mode → model: each mode once, the first already set');
    assert.equal(plan.counts.reboots, 1);
    const runs = engineRuns(plan);
    assert.equal(runs.length, 36);
    for (const run of runs) {
      assert.equal(run[0]!.engineGroup, `${run[0]!.powerKey}.${run[0]!.model.id}`);
      assert.ok(run.every((c) => c.powerKey === run[0]!.powerKey && c.model.id === run[0]!.model.id));
    }
    assert.deepEqual([...new Set(plan.cells.map((c) => c.powerKey))], ['70w', '90w', 'maxn', '120w']);
    // A power change always comes with a new engine.
    assert.ok(plan.cells.filter((c) => c.changesPowerMode).every((c) => c.startsEngine));
  });

  it('sweeps started before reboot epochs keep their plan: power mode → model → clocks', () => {
    const exp = load('thor-power-clocks');
    exp.matrix.model.push({ ...exp.matrix.model[0]!, id: 'qwen3-8b-fp8-b' });
    const before = planSweepBeforeEpochs(exp);
    assert.equal(before.counts.modelLoads, 4, 'one engine per power mode and model');
    assert.deepEqual(
      before.cells.filter((c) => c.scenario.name === 'high-load').map((c) => c.id),
      [
        'maxn.default.qwen3-8b-fp8.high-load.r1',
        'maxn.locked.qwen3-8b-fp8.high-load.r1',
        'maxn.default.qwen3-8b-fp8-b.high-load.r1',
        'maxn.locked.qwen3-8b-fp8-b.high-load.r1',
        '120w.default.qwen3-8b-fp8.high-load.r1',
        '120w.locked.qwen3-8b-fp8.high-load.r1',
        '120w.default.qwen3-8b-fp8-b.high-load.r1',
        '120w.locked.qwen3-8b-fp8-b.high-load.r1',
      ],
    );
    assert.deepEqual(
      [...new Set(before.cells.map((c) => c.engineGroup))],
      ['maxn.qwen3-8b-fp8', 'maxn.qwen3-8b-fp8-b', '120w.qwen3-8b-fp8', '120w.qwen3-8b-fp8-b'],
    );
    assert.equal(planSweep(exp).counts.modelLoads, 2);
  });

  it('counts a reboot into the first epoch when the device is in neither of the matrix epochs', () => {
    const exp = load('thor-power-clocks'); // MAXN and 120W only
    assert.equal(planSweep(exp, { power: { mode: '90W', id: 2 } }).counts.reboots, 1);
    const plan = planSweep(exp, { power: { mode: 'MAXN', id: 0 } });
    assert.equal(plan.counts.reboots, 0);
    // Clocks unknown: the first cell's clocks count as a change.
    assert.equal(plan.cells[0]!.changesClocks, true);
  });
});
