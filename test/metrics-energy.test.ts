/**
 * Energy over the benchmark window from VIN samples.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { energyMetrics, integrateEnergy } from '../metrics/energy.js';
import { near } from './helpers/near.js';

describe('integrateEnergy', () => {
  it('integrates a constant power exactly', () => {
    const samples = [0, 1, 2, 3, 4].map((t) => ({ tS: t, watts: 20 }));
    const e = integrateEnergy(samples, 0, 4)!;
    near(e.energyJ, 80);
    near(e.avgPowerW, 20);
    assert.equal(e.sampleCount, 5);
    near(e.coveredS, 4);
  });

  it('uses trapezoids and interpolates the power at the window edges', () => {
    // P(t) = 10 + 10t, sampled each second: over [0.5, 2.5] the mean power is P(1.5) = 25 W, so 2 s → 50 J.
    const samples = [0, 1, 2, 3].map((t) => ({ tS: t, watts: 10 + 10 * t }));
    const e = integrateEnergy(samples, 0.5, 2.5)!;
    near(e.energyJ, 50);
    near(e.avgPowerW, 25);
    assert.equal(e.sampleCount, 2);
  });

  it('handles unsorted input and a window between two samples', () => {
    const e = integrateEnergy(
      [
        { tS: 1, watts: 30 },
        { tS: 0, watts: 10 },
      ],
      0.25,
      0.75,
    )!;
    near(e.energyJ, 10); // P(0.5) = 20 W over 0.5 s
    assert.equal(e.sampleCount, 0);
  });

  it('assumes the covered average power over a late-started telemetry edge, and says how much was covered', () => {
    const samples = [1, 2, 3, 4].map((t) => ({ tS: t, watts: 20 }));
    const e = integrateEnergy(samples, 0, 4)!;
    near(e.coveredS, 3);
    near(e.energyJ, 80);
  });

  it('returns null without two samples spanning part of the window', () => {
    assert.equal(integrateEnergy([], 0, 1), null);
    assert.equal(integrateEnergy([{ tS: 0.5, watts: 20 }], 0, 1), null);
    assert.equal(
      integrateEnergy(
        [
          { tS: 2, watts: 20 },
          { tS: 3, watts: 20 },
        ],
        0,
        1,
      ),
      null,
    );
    assert.equal(
      integrateEnergy(
        [
          { tS: 0, watts: Number.NaN },
          { tS: 1, watts: 20 },
        ],
        0,
        1,
      ),
      null,
    );
  });

  it('rejects an empty window', () => {
    assert.throws(() => integrateEnergy([], 1, 1), /window end/);
  });
});

describe('energyMetrics', () => {
  it('derives J per token and tokens/s per W', () => {
    const m = energyMetrics({ energyJ: 1000, avgPowerW: 50, sampleCount: 20, coveredS: 20 }, 2560, 20);
    assert.deepEqual(m, {
      energy_j: 1000,
      avg_power_w: 50,
      energy_per_output_token_j: 1000 / 2560,
      output_throughput_per_w: 2560 / 20 / 50,
    });
  });

  it('is all null without telemetry, and null where nothing can be divided', () => {
    assert.deepEqual(energyMetrics(null, 100, 1), {
      energy_j: null,
      avg_power_w: null,
      energy_per_output_token_j: null,
      output_throughput_per_w: null,
    });
    const m = energyMetrics({ energyJ: 0, avgPowerW: 0, sampleCount: 2, coveredS: 1 }, 0, 1);
    assert.equal(m.energy_per_output_token_j, null);
    assert.equal(m.output_throughput_per_w, null);
  });
});
