/**
 * The pieces of the scheduled regression watch that need no server: the simulator's slowdown fault, the watch a
 * sweep reads from its memo, `--threshold`, the exact JSON of `schedule trigger --json`, the report section, and the
 * verdict's round trip through the results store.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseThreshold, parseWatchedMetrics } from '../cli/commands/schedule.js';
import { renderHtmlReport } from '../report/html.js';
import { renderMarkdownReport } from '../report/markdown.js';
import { compareToBaseline } from '../report/regression.js';
import { regressionJson } from '../report/regression-view.js';
import { parseSlowdown } from '../sim/sim-state.js';
import { openResultsStore } from '../store/store.js';
import { WATCH_MEMO_KEY, watchFromMemo } from '../workflows/regression-watch.js';
import { tempDir } from './helpers/files.js';
import { sweepInput } from './helpers/records.js';

const FP8 = 'maxn.locked.qwen3-8b-fp8.chat';

describe('the slowdown fault', () => {
  it('reads slowdown:<factor> and leaves other faults alone', () => {
    assert.equal(parseSlowdown('slowdown:1.25'), 1.25);
    assert.equal(parseSlowdown('slowdown:2'), 2);
    assert.equal(parseSlowdown('crash-on-load'), null);
    assert.equal(parseSlowdown(''), null);
  });

  it('refuses a factor that is not a number from 1 to 100, naming the form', () => {
    for (const bad of ['slowdown:', 'slowdown:0.5', 'slowdown:abc', 'slowdown:-2', 'slowdown:1e3', 'slowdown:101']) {
      assert.throws(() => parseSlowdown(bad), /slowdown factor must be a number from 1 to 100, e\.g\. slowdown:1\.25/);
    }
  });
});

describe('the regression watch of a sweep', () => {
  it('comes from the memo: a baseline and an optional threshold', () => {
    assert.equal(watchFromMemo(undefined), null);
    assert.equal(watchFromMemo({ thorbench: { experiment: 'x' } }), null);
    assert.deepEqual(watchFromMemo({ [WATCH_MEMO_KEY]: { baseline: 'nightly-1' } }), { baseline: 'nightly-1' });
    assert.deepEqual(watchFromMemo({ [WATCH_MEMO_KEY]: { baseline: 'b', threshold: 0.1 } }), {
      baseline: 'b',
      threshold: 0.1,
    });
    assert.deepEqual(watchFromMemo({ [WATCH_MEMO_KEY]: { baseline: 'b', metrics: ['mean_tpot_ms'] } }), {
      baseline: 'b',
      metrics: ['mean_tpot_ms'],
    });
  });

  it('is an error when malformed, so the sweep fails before it runs a cell', () => {
    const malformed = [
      { baseline: '' },
      { baseline: 3 },
      'b',
      { baseline: 'b', threshold: 5 },
      { baseline: 'b', metrics: [] },
    ];
    for (const bad of malformed) {
      const w = watchFromMemo({ [WATCH_MEMO_KEY]: bad });
      assert.ok(w !== null && 'error' in w, JSON.stringify(bad));
    }
  });

  it('--threshold takes a percentage or a fraction', () => {
    assert.equal(parseThreshold(undefined), undefined);
    assert.equal(parseThreshold('5%'), 0.05);
    assert.equal(parseThreshold('12.5%'), 0.125);
    assert.equal(parseThreshold('0.1'), 0.1);
    for (const bad of ['5', '100%', '-1%', 'x']) assert.throws(() => parseThreshold(bad), /--threshold must be/);
  });

  it('--metrics takes metric names that have a better direction', () => {
    assert.equal(parseWatchedMetrics(undefined), undefined);
    assert.deepEqual(parseWatchedMetrics('mean_tpot_ms, p99.9_ttft_ms,output_throughput,mean_tpot_ms'), [
      'mean_tpot_ms',
      'p99.9_ttft_ms',
      'output_throughput',
    ]);
    assert.throws(() => parseWatchedMetrics('completed,mean_tpot_ms'), /--metrics .* \(not one: completed\)/);
    assert.throws(() => parseWatchedMetrics(','), /--metrics takes vLLM metric names/);
  });
});

describe('showing a comparison', () => {
  const baseline = sweepInput('nightly-1', [{ id: FP8, tok: 400, ttft: 500, tpot: 15, image: 'vllm:25.09' }]);
  const now = sweepInput('nightly-2', [{ id: FP8, tok: 320, ttft: 500, tpot: 15, image: 'vllm:25.10' }]);
  const cmp = compareToBaseline(now, baseline);

  it('prints exactly sweepId, baseline, regressions and improvements', () => {
    const json = regressionJson(cmp);
    assert.deepEqual(Object.keys(json), ['sweepId', 'baseline', 'regressions', 'improvements']);
    assert.equal(json.sweepId, 'nightly-2');
    assert.equal(json.baseline, 'nightly-1');
    const tok = json.regressions.find((r) => r.metric === 'output_throughput')!;
    assert.deepEqual(tok, { cell: FP8, metric: 'output_throughput', baseline: 400, value: 320, change: -0.2 });
    assert.deepEqual(json.improvements, []);
  });

  it('the reports name the verdict, the image bump and each regressed metric', async () => {
    const md = renderMarkdownReport({ ...now, regression: cmp });
    assert.match(md, /## Regression check: nightly-2 against nightly-1/);
    assert.match(md, /\*\*3 regression\(s\)\*\* and 0 improvement\(s\) over 1 cell\(s\)/);
    assert.match(md, /Engine image changed: `vllm:25\.09` → `vllm:25\.10`/);
    assert.match(md, /\| maxn\.locked\.qwen3-8b-fp8\.chat \| output_throughput \| 400\.00 \| 320\.00 \| −20\.0 % \|/);
    assert.doesNotMatch(renderMarkdownReport(now), /Regression check/);
    const html = await renderHtmlReport({ ...now, regression: cmp });
    assert.match(html, /<h2>Regression check: nightly-2 against nightly-1<\/h2>/);
    assert.match(html, /<b>3 regression\(s\)<\/b> and 0 improvement\(s\) over 1 cell\(s\)/);
    assert.match(html, /<code>vllm:25\.09<\/code> → <code>vllm:25\.10<\/code>/);
  });

  it('is recorded with the sweep and read back', async () => {
    const store = await openResultsStore(path.join(tempDir('regression-store'), 'thorbench.db'));
    try {
      assert.equal(await store.getRegression('nightly-2'), null);
      const verdict = { sweepId: 'nightly-2', baseline: 'nightly-1', regression: true, comparison: cmp };
      await store.recordRegression({ ...verdict, comparedAt: '2026-11-29T03:10:00.000Z' });
      assert.deepEqual(await store.getRegression('nightly-2'), { ...verdict, comparedAt: '2026-11-29T03:10:00.000Z' });
      // A comparison run again replaces the verdict.
      await store.recordRegression({ ...verdict, regression: false, comparedAt: '2026-11-29T04:00:00.000Z' });
      assert.equal((await store.getRegression('nightly-2'))?.regression, false);
    } finally {
      await store.close();
    }
  });
});
