/**
 * Regression comparison against a baseline (report/regression.ts): matching by cell id without `.rN`, each
 * metric's good direction, noise judged by non-overlapping 95 % confidence intervals with repeats and by a relative
 * threshold without, the image bump, and what is not compared.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compareToBaseline,
  DEFAULT_REGRESSION_THRESHOLD,
  type MetricChange,
  renderRegressionMarkdown,
} from '../report/regression.js';
import { type Measured, sweepInput } from './helpers/records.js';

const FP8 = 'maxn.locked.qwen3-8b-fp8.chat';
const AWQ = '120w.default.qwen3-8b-awq.chat';

const metricsOf = (changes: readonly MetricChange[], cell: string) =>
  changes
    .filter((c) => c.cell === cell)
    .map((c) => c.metric)
    .sort();
const near = (a: number, b: number) => Math.abs(a - b) < 1e-9;

describe('regression comparison against a baseline', () => {
  it('without repeats: a change beyond 5 % is a regression or an improvement by the metric’s good direction', () => {
    const baseline = sweepInput('nightly-1', [
      { id: FP8, tok: 400, ttft: 500, tpot: 15, j: 0.25 },
      { id: AWQ, tok: 300, ttft: 500, tpot: 20, j: 0.25 },
    ]);
    const sweep = sweepInput('nightly-2', [
      // Throughput 10 % down (a regression); p99 TTFT 2 % up (within the threshold).
      { id: FP8, tok: 360, ttft: 510, tpot: 15, j: 0.25 },
      // TTFT 20 % down (an improvement); energy per token 20 % up and tokens per joule down (regressions).
      { id: AWQ, tok: 300, ttft: 400, tpot: 20, j: 0.3 },
    ]);
    const cmp = compareToBaseline(sweep, baseline);
    assert.equal(cmp.sweepId, 'nightly-2');
    assert.equal(cmp.baseline, 'nightly-1');
    assert.equal(cmp.threshold, DEFAULT_REGRESSION_THRESHOLD);
    assert.deepEqual(cmp.compared, [FP8, AWQ]);
    assert.deepEqual(metricsOf(cmp.regressions, FP8), [
      'output_throughput',
      'request_throughput',
      'total_token_throughput',
    ]);
    assert.deepEqual(metricsOf(cmp.improvements, FP8), []);
    const tok = cmp.regressions.find((r) => r.cell === FP8 && r.metric === 'output_throughput')!;
    assert.deepEqual(Object.keys(tok), ['cell', 'metric', 'baseline', 'value', 'change']);
    assert.deepEqual(tok, { cell: FP8, metric: 'output_throughput', baseline: 400, value: 360, change: -0.1 });

    assert.deepEqual(metricsOf(cmp.regressions, AWQ), ['energy_per_output_token_j', 'output_throughput_per_w']);
    const energy = cmp.regressions.find((r) => r.cell === AWQ && r.metric === 'energy_per_output_token_j')!;
    assert.ok(near(energy.change, 0.2));
    assert.deepEqual(metricsOf(cmp.improvements, AWQ), ['mean_ttft_ms', 'median_ttft_ms', 'p99_ttft_ms']);
    assert.ok(cmp.improvements.every((c) => near(c.change, -0.2)));
    assert.equal(cmp.imageBump, null);
  });

  it('the threshold and the metrics compared can be chosen', () => {
    const baseline = sweepInput('b', [{ id: FP8, tok: 400, ttft: 500, tpot: 15, j: 0.25 }]);
    const sweep = sweepInput('s', [{ id: FP8, tok: 360, ttft: 600, tpot: 15, j: 0.25 }]);
    assert.deepEqual(
      compareToBaseline(sweep, baseline, { threshold: 0.15 })
        .regressions.map((r) => r.metric)
        .sort(),
      ['mean_ttft_ms', 'median_ttft_ms', 'p99_ttft_ms'],
    );
    const only = compareToBaseline(sweep, baseline, { metrics: ['output_throughput'] });
    assert.deepEqual(
      only.regressions.map((r) => r.metric),
      ['output_throughput'],
    );
    assert.throws(() => compareToBaseline(sweep, baseline, { threshold: -1 }), /threshold must be a number ≥ 0/);
  });

  it('with repeats on both sides: flagged when the 95 % CIs do not overlap, whatever the size of the change', () => {
    const reps = (id: string, toks: number[]): Measured[] =>
      toks.map((tok, i) => ({ id: `${id}.r${i + 1}`, tok, ttft: 500, tpot: 15, j: 0.25 }));
    const baseline = sweepInput('b', [...reps(FP8, [400, 401, 402]), ...reps(AWQ, [400, 440, 360])]);
    // FP8: +2.5 %, below the threshold but far outside both tight CIs → an improvement.
    // AWQ: +10 %, beyond the threshold but inside wide, overlapping CIs → noise.
    const sweep = sweepInput('s', [...reps(FP8, [410, 411, 412]), ...reps(AWQ, [440, 480, 400])]);
    const cmp = compareToBaseline(sweep, baseline, { metrics: ['output_throughput'] });
    assert.deepEqual(cmp.regressions, []);
    assert.equal(cmp.improvements.length, 1);
    const [fp8] = cmp.improvements;
    assert.equal(fp8!.cell, FP8);
    assert.equal(fp8!.baseline, 401);
    assert.equal(fp8!.value, 411);
    assert.ok(near(fp8!.change, 10 / 401));
  });

  it('names an image bump: the experiments’ engine.image, else the one image the records ran', () => {
    const m: Measured[] = [{ id: FP8, tok: 400, ttft: 500, tpot: 15, j: 0.25 }];
    const old = sweepInput('b', m, { engine: { image: 'nvcr.io/nvidia/vllm:25.09-py3' } });
    const bumped = sweepInput('s', m, { engine: { image: 'nvcr.io/nvidia/vllm:25.10-py3' } });
    assert.deepEqual(compareToBaseline(bumped, old).imageBump, {
      from: 'nvcr.io/nvidia/vllm:25.09-py3',
      to: 'nvcr.io/nvidia/vllm:25.10-py3',
    });
    assert.equal(compareToBaseline(old, old).imageBump, null);
    const fromRecords = sweepInput('r', [{ ...m[0]!, image: 'vllm:dev' }]);
    assert.deepEqual(compareToBaseline(fromRecords, old).imageBump, {
      from: 'nvcr.io/nvidia/vllm:25.09-py3',
      to: 'vllm:dev',
    });
  });

  it('lists what it did not compare: cells on one side only, invalid results, cells with no result', () => {
    const baseline = sweepInput('b', [
      { id: FP8, tok: 400, ttft: 500, tpot: 15, j: 0.25 },
      { id: AWQ, tok: 300, ttft: 500, tpot: 20, j: 0.25 },
      { id: 'maxn.default.qwen3-8b-fp8.chat', tok: 300, ttft: 500, tpot: 20, j: 0.25 },
      { id: 'maxn.default.qwen3-8b-awq.chat', tok: 300, ttft: 500, tpot: 20, j: 0.25 },
    ]);
    const sweep = sweepInput('s', [
      { id: FP8, tok: 100, ttft: 500, tpot: 15, j: 0.25, invalid: ['GPU throttled during the benchmark'] },
      { id: AWQ, tok: 0, ttft: 0, tpot: 0, status: 'failed' },
      { id: 'maxn.default.qwen3-8b-fp8.chat', tok: 300, ttft: 500, tpot: 20, j: 0.25 },
      { id: '120w.locked.qwen3-8b-fp8.chat', tok: 300, ttft: 500, tpot: 20, j: 0.25 },
    ]);
    const cmp = compareToBaseline(sweep, baseline);
    assert.deepEqual(cmp.compared, ['maxn.default.qwen3-8b-fp8.chat']);
    assert.deepEqual(cmp.notCompared, {
      onlyInBaseline: ['maxn.default.qwen3-8b-awq.chat'],
      onlyInSweep: ['120w.locked.qwen3-8b-fp8.chat'],
      invalid: [FP8],
      notSucceeded: [AWQ],
    });
    assert.deepEqual(cmp.regressions, []);
    assert.deepEqual(cmp.improvements, []);
  });

  it('renders as a Markdown section: the verdict, the image bump, each flagged metric', () => {
    const m: Measured[] = [{ id: FP8, tok: 400, ttft: 500, tpot: 15, j: 0.25 }];
    const baseline = sweepInput('nightly-1', m, { engine: { image: 'vllm:a' } });
    const sweep = sweepInput('nightly-2', [{ ...m[0]!, tok: 300 }], { engine: { image: 'vllm:b' } });
    const md = renderRegressionMarkdown(compareToBaseline(sweep, baseline, { metrics: ['output_throughput'] }));
    assert.match(
      md,
      /^## Regression check: nightly-2 against nightly-1\n\n\*\*1 regression\(s\)\*\* and 0 improvement/,
    );
    assert.match(md, /exceeds 5 %/);
    assert.match(md, /Engine image changed: `vllm:a` → `vllm:b`\./);
    assert.match(md, /### Regressions\n\n\| Cell \| Metric \| Baseline \| Now \| Change \|/);
    assert.match(md, /\| maxn\.locked\.qwen3-8b-fp8\.chat \| output_throughput \| 400\.00 \| 300\.00 \| −25\.0 % \|/);
    assert.doesNotMatch(md, /### Improvements/);
    const same = renderRegressionMarkdown(compareToBaseline(baseline, baseline));
    assert.match(same, /No regression; 0 improvement\(s\) over 1 cell\(s\)/);
  });
});
