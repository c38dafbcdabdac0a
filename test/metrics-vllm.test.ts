/**
 * calculateMetrics against vLLM 0.33's own `calculate_metrics`: every aggregate vLLM saved must come back when
 * thorbench recomputes it from the per-request arrays vLLM saved beside it (--save-detailed). The files are real
 * vLLM 0.33 client output (the README.md beside each fixture says how it was made).
 *
 * Tolerance: none. vLLM's arithmetic is numpy float64 (pairwise summation, population std, linear percentiles) and
 * metrics/stats.ts reproduces it operation for operation, so every key must be bit-identical.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GoodputSlos } from '../metrics/calculate.js';
import {
  parseBenchmarkBlock,
  parsePythonJson,
  parseSaveResultJson,
  parseSaveResultRequests,
} from '../parsers/vllm-bench.js';
import { BenchmarkMetrics, PERCENTILE_KEY_RE } from '../schema/metrics.js';
import { fixture } from './helpers/files.js';
import { assertRecomputedLikeVllm } from './helpers/vllm-saved.js';

interface Vector {
  dir: string;
  name: string;
  /** The --goodput SLOs of the run (vLLM does not save them), from the fixture README. */
  goodput?: GoodputSlos;
  percentiles: number[];
}

const VECTORS: Vector[] = [
  { dir: 'vllm-0.33-client', name: 'c1', percentiles: [99] },
  { dir: 'vllm-0.33-client', name: 'c8', percentiles: [99] },
  { dir: 'vllm-0.33-client', name: 'c64', percentiles: [99] },
  {
    dir: 'vllm-0.33-client-slo',
    name: 'slo-c8',
    percentiles: [50, 90, 95, 99, 99.9],
    goodput: { ttft: 200, tpot: 23.5, e2el: 1700 },
  },
  { dir: 'vllm-0.33-client-slo', name: 'slo-rate12', percentiles: [25, 75, 99, 99.99], goodput: { tpot: 20 } },
];

describe('calculateMetrics against vLLM 0.33 (real client output)', () => {
  for (const v of VECTORS) {
    it(`${v.dir}/${v.name}: every saved aggregate recomputed bit for bit from the per-request arrays`, () => {
      const saved = parsePythonJson(fixture(v.dir, `${v.name}.save-detailed.json`)) as Record<string, unknown>;
      // Everything vLLM computes in calculate_metrics is compared, the percentiles asked for included.
      const pctKeys = Object.keys(saved).filter((k) => PERCENTILE_KEY_RE.test(k));
      assert.equal(pctKeys.length, v.percentiles.length * 4);
      const required = ['max_concurrent_requests', 'max_output_tokens_per_s', 'request_goodput', 'std_itl_ms'];
      const keys = assertRecomputedLikeVllm(saved, v, [...required, ...pctKeys], v.name);
      assert.equal(keys.length >= 29, true);
    });

    it(`${v.dir}/${v.name}: the printed block agrees with the JSON to vLLM's two printed decimals`, () => {
      const block = parseBenchmarkBlock(fixture(v.dir, `${v.name}.printed.txt`)) as Record<string, unknown>;
      const saved = parseSaveResultJson(fixture(v.dir, `${v.name}.save-detailed.json`)) as Record<string, unknown>;
      for (const [k, value] of Object.entries(block)) {
        if (typeof value !== 'number') continue;
        assert.equal(value, Number((saved[k] as number).toFixed(2)), k);
      }
    });
  }

  it("vLLM's percentile key spelling: p99.9 and p99.99, not p99.90", () => {
    const saved = parseSaveResultJson(fixture('vllm-0.33-client-slo', 'slo-rate12.save-detailed.json'));
    assert.deepEqual(
      Object.keys(saved)
        .filter((k) => k.endsWith('_ttft_ms') && k.startsWith('p'))
        .sort(),
      ['p25_ttft_ms', 'p75_ttft_ms', 'p99.99_ttft_ms', 'p99_ttft_ms'],
    );
    assert.equal(BenchmarkMetrics.safeParse(saved).success, true);
  });

  it('a summary-only file (no --save-detailed) has no per-request records', () => {
    const text = fixture('vllm-0.33-client-slo', 'c1.save-result.json');
    assert.equal(parseSaveResultRequests(text), null);
    assert.equal(parseSaveResultJson(text).completed, 4);
  });
});
