/**
 * The validity verdict (schema/verdict.ts), rule by rule: each rule flags exactly the record that breaks it, says
 * why in words naming the threshold, and leaves alone a record that lacks the evidence because it predates it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_VALIDITY, ValiditySpec } from '../schema/experiment.js';
import {
  completeRecord,
  judgeCell,
  ruleClocks,
  ruleEnergy,
  ruleFailedRatio,
  ruleMinCompleted,
  ruleMinDuration,
  rulePowerMode,
  ruleSucceeded,
  ruleTemperature,
  ruleThrottling,
  ruleWarmup,
  type UnjudgedCellRecord,
} from '../schema/verdict.js';
import { experiment } from './helpers/experiment.js';
import { FP8_HIGH_LOAD, thorCell, thorDeviceFacts } from './helpers/thor-facts.js';

/** A valid cell on a real Thor: MAXN, locked clocks, warmed-up fresh engine, energy measured, cool. */
function good(): UnjudgedCellRecord {
  const cell = thorCell('s');
  return {
    ...cell,
    device: thorDeviceFacts({
      powerModeAfter: { name: 'MAXN', id: 0 },
      clocksAfter: { locked: true, gpuMhz: 1575, gpuMaxMhz: 1575, emcMhz: 4266, emcMaxMhz: 4266, cpuMhz: [2601, 2601] },
    }),
    engine: { ...cell.engine!, startedForCell: true },
    steps: [
      { step: 'startEngine', startedAt: '2025-10-01T10:00:00.000Z', durationMs: 1, result: { kind: 'done' } },
      { step: 'warmup', startedAt: '2025-10-01T10:01:00.000Z', durationMs: 1, result: { kind: 'done' } },
      { step: 'benchmark', startedAt: '2025-10-01T10:02:00.000Z', durationMs: 1, result: { kind: 'done' } },
    ],
    energy: { status: 'measured', rail: 'VIN', samples: 86, coveredS: 42.5, windowS: 42.9 },
    thermal: { samples: 88, maxTempC: 71.2, maxTempSensor: 'tj', gpuMhzMin: 1575, gpuMhzMax: 1575 },
  };
}

const V = DEFAULT_VALIDITY;
const strict = (over: Partial<ValiditySpec>): ValiditySpec => ValiditySpec.parse(over);

describe('validity verdict', () => {
  it('finds a clean cell valid, with no reasons', () => {
    assert.deepEqual(judgeCell(good(), V), { valid: true, reasons: [] });
  });

  it('has documented defaults, and an experiment without a validity section gets them', () => {
    assert.deepEqual(DEFAULT_VALIDITY, {
      minCompleted: 1,
      minDurationS: 0,
      maxFailedRatio: 0,
      requireWarmup: true,
      maxTemperatureC: 99,
      requireEnergy: true,
    });
    assert.deepEqual(experiment('x').validity, DEFAULT_VALIDITY);
    assert.equal(ValiditySpec.safeParse({ maxFailedRatio: 2 }).success, false);
    assert.equal(ValiditySpec.safeParse({ minCompleted: 1.5 }).success, false);
    assert.equal(
      ValiditySpec.safeParse({ minCompletd: 3 }).success,
      false,
      'a misspelt threshold is refused, not ignored',
    );
  });

  it('a cell without a result is invalid', () => {
    const c = {
      ...good(),
      status: 'failed' as const,
      metrics: null,
      failure: { type: 'EngineCrashed' as const, message: 'x', retryable: false, step: 'benchmark' as const },
    };
    assert.equal(ruleSucceeded(c, V), 'no benchmark result: the cell was failed (EngineCrashed)');
    assert.equal(ruleSucceeded(good(), V), null);
    assert.deepEqual(judgeCell(c, V).reasons, ['no benchmark result: the cell was failed (EngineCrashed)']);
  });

  it('minCompleted: too few completed requests', () => {
    const c = { ...good(), metrics: { ...FP8_HIGH_LOAD, completed: 3 } };
    assert.equal(
      ruleMinCompleted(c, strict({ minCompleted: 10 })),
      'only 3 request(s) completed; validity.minCompleted is 10',
    );
    assert.equal(ruleMinCompleted(c, strict({ minCompleted: 3 })), null);
  });

  it('minDurationS: too short a run', () => {
    assert.equal(
      ruleMinDuration(good(), strict({ minDurationS: 60 })),
      'the benchmark ran 42.94 s; validity.minDurationS is 60',
    );
    assert.equal(ruleMinDuration(good(), strict({ minDurationS: 42.94 })), null);
  });

  it('maxFailedRatio: failed requests beyond the allowed share', () => {
    const c = { ...good(), metrics: { ...FP8_HIGH_LOAD, completed: 95, failed: 5 } };
    assert.equal(ruleFailedRatio(c, V), '5 of 100 requests failed (5 %); validity.maxFailedRatio is 0');
    assert.equal(ruleFailedRatio(c, strict({ maxFailedRatio: 0.05 })), null);
    assert.equal(ruleFailedRatio(good(), V), null);
  });

  it('no warm-up before a run on a freshly started engine', () => {
    const cold = {
      ...good(),
      steps: good().steps.map((s) =>
        s.step === 'warmup' ? { ...s, result: { kind: 'skipped' as const, reason: 'no warmup configured' } } : s,
      ),
    };
    assert.match(ruleWarmup(cold, V) ?? '', /^no warm-up before the run: the engine was started for this cell/);
    assert.equal(ruleWarmup(cold, strict({ requireWarmup: false })), null);
    // An adopted engine has served the cells before this one.
    assert.equal(ruleWarmup({ ...cold, engine: { ...cold.engine!, startedForCell: false } }, V), null);
    // Records from before startedForCell was kept are not judged on it.
    const { startedForCell: _, ...oldEngine } = cold.engine!;
    assert.equal(ruleWarmup({ ...cold, engine: oldEngine }, V), null);
  });

  it('clocks read back after the run must match the cell', () => {
    const dev = good().device!;
    const unlocked = {
      ...good(),
      device: { ...dev, clocksAfter: { ...dev.clocksAfter!, locked: false, gpuMhz: 900 } },
    };
    assert.equal(
      ruleClocks(unlocked, V),
      'the cell asked for locked clocks, but jetson_clocks --show found them unlocked after the run, GPU at 900 of 1575 MHz',
    );
    const lockedButDefault = { ...good(), clocks: 'default' as const };
    assert.equal(
      ruleClocks(lockedButDefault, V),
      'the cell asked for default clocks (DVFS), but they were locked after the run',
    );
    assert.equal(
      ruleClocks({ ...good(), device: { ...dev, clocksAfter: null } }, V),
      'the clocks could not be read back after the run (jetson_clocks --show)',
    );
    const { clocksAfter: _, ...before } = dev;
    assert.equal(
      ruleClocks({ ...good(), device: before }, V),
      null,
      'a record from before the read-back is not judged on it',
    );
  });

  it('the power mode read back after the run must be the requested one', () => {
    const dev = good().device!;
    assert.equal(
      rulePowerMode({ ...good(), device: { ...dev, powerModeAfter: { name: '120W', id: 1 } } }, V),
      'the power mode after the run was 120W (id 1), not the requested maxn',
    );
    assert.equal(rulePowerMode({ ...good(), power: 'mode0' }, V), null, 'a mode requested by id matches by id');
    assert.equal(
      rulePowerMode({ ...good(), device: { ...dev, powerModeAfter: null } }, V),
      'the power mode could not be read back after the run (nvpmodel -q)',
    );
  });

  it('a temperature at the limit during the run', () => {
    const hot = { ...good(), thermal: { ...good().thermal!, maxTempC: 101.25, maxTempSensor: 'tj' } };
    assert.equal(ruleTemperature(hot, V), 'tj reached 101.3 °C during the run; validity.maxTemperatureC is 99');
    assert.equal(ruleTemperature(hot, strict({ maxTemperatureC: 105 })), null);
    assert.equal(ruleTemperature({ ...good(), thermal: null }, V), null);
  });

  it('a GPU clock that falls below the locked frequency is throttling', () => {
    const throttled = { ...good(), thermal: { ...good().thermal!, gpuMhzMin: 1100 } };
    assert.equal(
      ruleThrottling(throttled, V),
      'the GPU clock fell to 1100 MHz during the run while locked at 1575 MHz: the SoC throttled',
    );
    assert.equal(
      ruleThrottling({ ...good(), thermal: { ...good().thermal!, gpuMhzMin: 1574 } }, V),
      null,
      'tegrastats rounds to whole MHz',
    );
    assert.equal(ruleThrottling({ ...throttled, clocks: 'default' }, V), null, 'DVFS clocks move by design');
  });

  it('energy missing on a real device, not on the simulator', () => {
    const none = { ...good(), energy: { status: 'unavailable' as const, reason: 'tegrastats printed no VIN rail' } };
    assert.equal(ruleEnergy(none, V), 'no energy figure on a real device: tegrastats printed no VIN rail');
    assert.equal(ruleEnergy({ ...none, simulated: true }, V), null);
    assert.equal(ruleEnergy(none, strict({ requireEnergy: false })), null);
    assert.equal(
      ruleEnergy({ ...good(), energy: null }, V),
      'no energy figure on a real device: no telemetry was recorded',
    );
    const { energy: _, ...old } = good();
    assert.equal(ruleEnergy(old, V), null, 'a record from before the energy status was kept is not judged on it');
  });

  it('lists every broken rule, in order', () => {
    const c = {
      ...good(),
      metrics: { ...FP8_HIGH_LOAD, completed: 3, failed: 1 },
      thermal: { ...good().thermal!, maxTempC: 99 },
    };
    const v = judgeCell(c, strict({ minCompleted: 10 }));
    assert.equal(v.valid, false);
    assert.equal(v.reasons.length, 3);
    assert.match(v.reasons[0]!, /minCompleted/);
    assert.match(v.reasons[1]!, /maxFailedRatio/);
    assert.match(v.reasons[2]!, /maxTemperatureC/);
  });

  it('completeRecord says energy and thermal explicitly, judges, and stamps the version', () => {
    const { energy: _e, thermal: _t, ...skipped } = { ...good(), status: 'skipped' as const, metrics: null };
    const r = completeRecord(skipped, V, '0.1.0');
    assert.equal(r.energy, null);
    assert.equal(r.thermal, null);
    assert.equal(r.thorbenchVersion, '0.1.0');
    assert.equal(r.verdict.valid, false);
    assert.ok(Object.hasOwn(r, 'energy') && Object.hasOwn(r, 'thermal'));
  });
});
