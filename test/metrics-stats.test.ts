/**
 * numpy-equivalent statistics. Expected values are hand-computed where the arithmetic is simple and otherwise were
 * printed by numpy 2.4.6 (repr of np.mean / np.std / np.median / np.percentile on the same list).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mean, median, percentile, stdPopulation, sum } from '../metrics/stats.js';

/** ((i·37) mod 101)/1000 + 0.1 for i < 300: long enough for numpy's pairwise summation to differ from a running sum. */
const LONG = Array.from({ length: 300 }, (_, i) => ((i * 37) % 101) / 1000 + 0.1);

describe('stats', () => {
  it('matches numpy on [1, 2, 3, 4] (hand-computed)', () => {
    const xs = [4, 1, 3, 2];
    assert.equal(mean(xs), 2.5);
    assert.equal(median(xs), 2.5);
    assert.equal(stdPopulation(xs), Math.sqrt(1.25)); // ddof=0: Σ(x−2.5)²/4 = 5/4
    assert.equal(percentile(xs, 99), 3.9699999999999998); // index 3·0.99 = 2.97 → 3 + 0.97·(4 − 3)
    assert.equal(percentile(xs, 25), 1.75);
    assert.equal(percentile(xs, 0), 1);
    assert.equal(percentile(xs, 100), 4);
  });

  it('matches numpy on an odd-length latency list', () => {
    const xs = [0.015, 0.021, 0.019, 0.16, 0.022];
    assert.equal(median(xs), 0.021);
    assert.equal(mean(xs), 0.047400000000000005);
    assert.equal(stdPopulation(xs), 0.056351042581304564);
    assert.equal(percentile(xs, 99), 0.15448); // index 3.96 → 0.022 + 0.96·0.138
    assert.equal(percentile(xs, 90), 0.1048);
  });

  it('sums pairwise like numpy, so means agree to the last bit', () => {
    let running = 0;
    for (const x of LONG) running += x;
    assert.equal(running / LONG.length, 0.1498933333333333); // what a running sum gives
    assert.equal(mean(LONG), 0.14989333333333335); // np.mean
    assert.equal(sum(LONG) / LONG.length, mean(LONG));
    assert.equal(stdPopulation(LONG), 0.02916279517162616);
    assert.equal(median(LONG), 0.15000000000000002);
    assert.equal(percentile(LONG, 99), 0.19901);
    assert.equal(percentile(LONG, 99.9), 0.2);
  });

  it('returns null, not 0, for an empty list', () => {
    assert.equal(mean([]), null);
    assert.equal(median([]), null);
    assert.equal(stdPopulation([]), null);
    assert.equal(percentile([], 99), null);
    assert.equal(sum([]), 0);
  });

  it('does not reorder its input and rejects percentiles outside [0, 100]', () => {
    const xs = [3, 1, 2];
    percentile(xs, 50);
    median(xs);
    assert.deepEqual(xs, [3, 1, 2]);
    assert.throws(() => percentile(xs, 101), RangeError);
    assert.throws(() => percentile(xs, Number.NaN), RangeError);
  });
});
