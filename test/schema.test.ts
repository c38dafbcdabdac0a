import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { calculateMetrics } from '../metrics/calculate.js';
import { metricPercentilesArgs } from '../metrics/slo.js';
import { formatPath, parseExperiment } from '../schema/experiment.js';
import { percentileKeysOf } from '../schema/metrics.js';
import { BARE_MODEL, experimentInput } from './helpers/experiment.js';
import { repoJson, repoPath, repoText } from './helpers/files.js';

// Parsed loosely on purpose: the tests below break it in ways the types would not allow.
const demo = () => JSON.parse(repoText('experiments', 'demo-sim.json'));

function problems(input: unknown): string[] {
  const r = parseExperiment(input);
  assert.equal(r.ok, false, 'expected the experiment to be rejected');
  return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
}

/** Asserts that the experiment is rejected with a problem at `path` (e.g. `matrix.model[1].path:`) saying `detail`. */
function assertProblem(input: unknown, path: string, detail = ''): void {
  const found = problems(input);
  assert.ok(
    found.some((p) => p.startsWith(path) && p.includes(detail)),
    `no problem at ${path} saying "${detail}" among:\n${found.join('\n')}`,
  );
}

describe('experiment schema', () => {
  it('accepts every shipped experiment', () => {
    for (const f of readdirSync(repoPath('experiments')).filter((f) => f.endsWith('.json'))) {
      const r = parseExperiment(repoJson('experiments', f));
      assert.ok(r.ok, `${f}: ${r.ok ? '' : JSON.stringify(r.problems)}`);
    }
  });

  it('takes device.failoverAfterMs in ms, refusing one under a second', () => {
    const exp = demo();
    exp.device = { select: ['thor-a', 'thor-b'], failoverAfterMs: 30_000 };
    const r = parseExperiment(exp);
    assert.ok(r.ok && r.experiment.device.failoverAfterMs === 30_000);
    exp.device.failoverAfterMs = 500;
    assert.deepEqual(problems(exp), ['device.failoverAfterMs: Too small: expected number to be >=1000']);
  });

  it('applies defaults', () => {
    const r = parseExperiment(experimentInput('x', { models: [BARE_MODEL] }));
    assert.ok(r.ok);
    assert.equal(r.experiment.engine.image, 'nvcr.io/nvidia/vllm:25.09-py3');
    assert.equal(r.experiment.repeats, 1);
    assert.equal(r.experiment.steps.flushCaches, true);
    assert.deepEqual(r.experiment.device, { select: 'any', failoverAfterMs: 600_000 });
    assert.equal(r.experiment.matrix.model[0]!.servedName, 'model');
  });

  it('names the JSON path of every problem', () => {
    const bad = demo();
    bad.matrix.model[1].path = '../../etc/passwd';
    bad.matrix.model[0].quantization = 'int3';
    bad.matrix.scenario[0].inputLen = -5;
    for (const path of ['matrix.model[1].path:', 'matrix.model[0].quantization:', 'matrix.scenario[0].inputLen:'])
      assertProblem(bad, path);
  });

  it('rejects flags outside the vLLM allow-list and bad env names', () => {
    const bad = demo();
    bad.matrix.model[0].serveArgs = ['--served-model-name', 'x'];
    bad.matrix.model[0].env = { 'bad-name': '1' };
    assertProblem(bad, 'matrix.model[0].serveArgs[0]:', 'allow-list');
    assertProblem(bad, 'matrix.model[0].env');
  });

  it('rejects duplicate ids that would collide in cell ids', () => {
    const bad = demo();
    bad.matrix.scenario.push({ ...bad.matrix.scenario[0] });
    assertProblem(bad, 'matrix.scenario[2]:', 'duplicate');
  });

  it('rejects unknown keys (a typo must not silently drop a setting)', () => {
    const bad = demo();
    bad.matrix.scenario[0].maxConcurency = 4;
    assertProblem(bad, 'matrix.scenario[0]');
  });

  it('rejects scenarios longer than the model context', () => {
    const bad = demo();
    bad.matrix.scenario[0].inputLen = 4090;
    assertProblem(bad, '', 'exceeds maxModelLen');
  });

  it('harness.percentiles: default 50, 90, 95, 99, takes any values (p99 measured too); harness.goodput: vLLM SLOs', () => {
    const base = demo();
    const ok = parseExperiment(base);
    assert.ok(ok.ok);
    assert.deepEqual(ok.experiment.harness.percentiles, [50, 90, 95, 99]);
    const harness = { percentiles: [50, 99, 99.9], goodput: { ttft: 500, tpot: 50 } };
    const custom = parseExperiment({ ...base, harness });
    assert.ok(custom.ok, JSON.stringify(custom.ok ? null : custom.problems));
    assert.deepEqual(custom.experiment.harness.percentiles, [50, 99, 99.9]);
    assert.deepEqual(custom.experiment.harness.goodput, { ttft: 500, tpot: 50 });
    // Any list is taken; thorbench measures p99 besides, for both harnesses (vLLM's argv and the builtin's metrics).
    const any = parseExperiment({ ...base, harness: { percentiles: [50, 99.9] } });
    assert.ok(any.ok, JSON.stringify(any.ok ? null : any.problems));
    const percentiles = any.experiment.harness.percentiles;
    assert.deepEqual(percentiles, [50, 99.9]);
    assert.deepEqual(metricPercentilesArgs(percentiles), ['--metric-percentiles', '50,99,99.9']);
    const request = { success: true, error: null, promptLen: 4, outputTokens: 3, ttftS: 0.1, itlS: [0.02, 0.03] };
    const measured = calculateMetrics([{ ...request, latencyS: 0.15, startS: 0 }], {
      durationS: 1,
      selectedPercentiles: percentiles,
    });
    assert.deepEqual(
      percentileKeysOf(measured).filter((k) => k.endsWith('_ttft_ms')),
      ['p50_ttft_ms', 'p99_ttft_ms', 'p99.9_ttft_ms'],
    );
    assert.match(problems({ ...base, harness: { percentiles: [50, 50] } })[0]!, /must not repeat a percentile/);
    assert.match(problems({ ...base, harness: { percentiles: [99, 101] } })[0]!, /^harness\.percentiles\[1\]:/);
    assert.match(problems({ ...base, harness: { goodput: {} } })[0]!, /^harness\.goodput: give ttft, tpot or e2el/);
    assert.match(problems({ ...base, harness: { goodput: { ttftMs: 5 } } })[0]!, /^harness\.goodput/);
  });

  it('formats paths the way users read JSON', () => {
    assert.equal(formatPath(['matrix', 'model', 2, 'path']), 'matrix.model[2].path');
    assert.equal(formatPath([]), '(root)');
  });
});
