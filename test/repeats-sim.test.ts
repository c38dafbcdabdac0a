/**
 * Repeats end to end: a sweep with `repeats: 3` on the simulated Thor through a real Temporal server, then
 * `report --format json` (the CLI's renderer) carries one summary per cell with the mean, the Student-t 95 % CI and
 * the CV of the three recorded repeats, and the Markdown table shows mean ± half-width.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderSweepReport } from '../cli/commands/report.js';
import type { RepeatSummary } from '../metrics/repeats.js';
import type { ExperimentInput } from '../schema/experiment.js';
import type { CellRecord } from '../schema/outcome.js';
import { freePort } from './helpers/net.js';
import { useSimLab } from './helpers/sim-workers.js';

describe('repeats: 3 on the simulated Thor', { timeout: 240_000 }, () => {
  const lab = useSimLab('repeats', { id: 'sim-repeats', speed: 4 });

  it('report JSON summaries: mean, ci95 from t(0.975, 2) and the sample sd, cv, for every numeric metric', async () => {
    const port = await freePort();
    const exp: ExperimentInput = {
      name: 'repeats-sim',
      engine: { port, maxModelLen: 4096 },
      matrix: {
        power: [{ mode: 'MAXN' }],
        clocks: ['locked'],
        model: [{ id: 'qwen3-8b-fp8', path: 'Qwen/Qwen3-8B-FP8', quantization: 'fp8', servedName: 'qwen3' }],
        scenario: [{ name: 'tiny', inputLen: 64, outputLen: 8, numPrompts: 6, maxConcurrency: 2 }],
      },
      warmup: { inputLen: 32, outputLen: 4, numPrompts: 2 },
      repeats: 3,
    };
    const result = await lab.runSweep('repeats-sim-1', exp);
    assert.equal(result.counts.succeeded, 3);

    const report = JSON.parse(await renderSweepReport(lab.sim.store, 'repeats-sim-1', 'json')) as {
      cells: CellRecord[];
      summaries: RepeatSummary[];
    };
    assert.equal(report.summaries.length, 1);
    const s = report.summaries[0]!;
    assert.equal(s.cell, 'maxn.locked.qwen3-8b-fp8.tiny');
    assert.equal(s.repeats, 3);
    const runs = report.cells.map((c) => c.metrics as unknown as Record<string, unknown>);
    assert.deepEqual(
      report.cells.map((c) => c.cellId).sort(),
      [1, 2, 3].map((r) => `${s.cell}.r${r}`),
    );
    const numeric = Object.keys(runs[0]!).filter((k) => runs.every((m) => typeof m[k] === 'number'));
    assert.deepEqual(Object.keys(s.metrics).sort(), numeric.sort());
    for (const key of ['mean_ttft_ms', 'output_throughput', 'p99_itl_ms', 'p50_tpot_ms'])
      assert.ok(key in s.metrics, key);
    for (const key of numeric) {
      const xs = runs.map((m) => m[key] as number);
      const mean = (xs[0]! + xs[1]! + xs[2]!) / 3;
      const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / 2);
      const half = 4.302652729749464 * (sd / Math.sqrt(3));
      const got = s.metrics[key]!;
      const tol = 1e-9 * Math.max(1, Math.abs(mean));
      assert.ok(Math.abs(got.mean - mean) <= tol, `${key} mean`);
      assert.ok(
        Math.abs(got.ci95[0] - (mean - half)) <= tol && Math.abs(got.ci95[1] - (mean + half)) <= tol,
        `${key} ci95`,
      );
      assert.ok(mean === 0 ? got.cv === null : Math.abs(got.cv! - sd / mean) <= 1e-12, `${key} cv`);
    }
    // TTFT varies between repeats on a live engine: a real interval, not a point.
    assert.ok(s.metrics.mean_ttft_ms!.ci95[1] > s.metrics.mean_ttft_ms!.ci95[0]);
    assert.match(
      await renderSweepReport(lab.sim.store, 'repeats-sim-1', 'md'),
      /\d ± \d[\s\S]*95 % confidence interval/,
    );
  });
});
