/**
 * calculateMetrics by hand and on edge cases; test/metrics-vllm.test.ts compares it with real vLLM 0.33 output.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BenchmarkMetrics, PERCENTILE_KEY_RE } from '../schema/metrics.js';
import { calculateMetrics } from '../metrics/calculate.js';
import { effectiveGoodput, goodputArgs, metricPercentilesArgs } from '../metrics/slo.js';
import { percentileKey } from '../metrics/vllm-keys.js';
import type { RequestRecord } from '../metrics/request-record.js';
import { near } from './helpers/near.js';
import { assertFields } from './helpers/fields.js';

const ok = (
  r: Partial<RequestRecord> & Pick<RequestRecord, 'ttftS' | 'itlS' | 'latencyS' | 'outputTokens'>,
): RequestRecord => ({
  success: true,
  error: null,
  promptLen: 10,
  startS: 0,
  ...r,
});
const failed: RequestRecord = {
  success: false,
  error: 'HTTP 500',
  promptLen: 10,
  outputTokens: 0,
  ttftS: 0,
  itlS: [],
  latencyS: 0,
  startS: 0,
};

describe('calculateMetrics by hand', () => {
  const requests: RequestRecord[] = [
    ok({ promptLen: 10, outputTokens: 4, ttftS: 0.1, itlS: [0.02, 0.03, 0.05], latencyS: 0.2, startS: 0 }),
    ok({ promptLen: 12, outputTokens: 1, ttftS: 0.3, itlS: [], latencyS: 0.3, startS: 0.05 }),
    ok({ promptLen: 8, outputTokens: 3, ttftS: 0.2, itlS: [0.1, 0.1], latencyS: 0.4, startS: 1.0 }),
    failed,
  ];
  const m = calculateMetrics(requests, { durationS: 2, maxConcurrency: 8, goodput: { ttft: 250, tpot: 50 } });

  it('counts only successful requests', () => {
    assertFields(m, {
      completed: 3,
      failed: 1,
      total_input_tokens: 30,
      total_output_tokens: 8,
      request_throughput: 1.5,
      output_throughput: 4,
      total_token_throughput: 19,
      duration: 2,
      max_concurrency: 8,
      request_rate: 'inf',
    });
  });

  it('leaves one-token requests out of TPOT', () => {
    near(m.mean_tpot_ms, (((0.2 - 0.1) / 3 + (0.4 - 0.2) / 2) / 2) * 1000);
    near(m.median_tpot_ms, (((0.2 - 0.1) / 3 + (0.4 - 0.2) / 2) / 2) * 1000);
  });

  it('pools ITL over requests and reports TTFT/E2EL per request', () => {
    near(m.mean_itl_ms, 60);
    near(m.median_itl_ms, 50);
    near(m.p99_itl_ms, 100);
    near(m.mean_ttft_ms, 200);
    near(m.p99_ttft_ms, 298); // index 1.98 over [0.1, 0.2, 0.3]
    near(m.mean_e2el_ms!, 300);
    near(m.std_e2el_ms!, Math.sqrt(0.02 / 3) * 1000);
  });

  it('applies every SLO, with TPOT 0 for one-token requests', () => {
    // r1 meets both; r2 misses TTFT; r3's TPOT 100 ms misses 50 ms
    assert.equal(m.request_goodput, 0.5);
    const tpotOnly = calculateMetrics(requests, { durationS: 2, goodput: { tpot: 50 } });
    assert.equal(tpotOnly.request_goodput, 1); // r1 and r2 (TPOT counted as 0)
    assert.equal(calculateMetrics(requests, { durationS: 2 }).request_goodput, null);
    assert.equal(calculateMetrics(requests, { durationS: 2, goodput: {} }).request_goodput, null);
  });

  it("computes vLLM's peak metrics from 1-second buckets", () => {
    assert.equal(m.max_output_tokens_per_s, 5); // second 0: 4 chunks of r1 + 1 of r2
    assert.equal(m.max_concurrent_requests, 2); // second 0: r1 and r2; second 1: r3
  });

  it('counts a request in every second it was active, not the most in flight at one instant', () => {
    // Back to back at concurrency 1: never two in flight at once, yet bucket 0 (the first second) holds r1, r2 and r3
    // (r3 spans buckets 0-2). vLLM 0.33's own calculate_metrics (vllm/benchmarks/serve.py, run in the client's venv
    // on these three records as RequestFuncOutput with dur_s 2.2) gives max_concurrent_requests 3 and
    // max_output_tokens_per_s 5.0.
    const serial = [
      ok({ outputTokens: 2, ttftS: 0.1, itlS: [0.2], latencyS: 0.3, startS: 0 }),
      ok({ outputTokens: 2, ttftS: 0.1, itlS: [0.2], latencyS: 0.3, startS: 0.3 }),
      ok({ outputTokens: 2, ttftS: 0.1, itlS: [1.5], latencyS: 1.6, startS: 0.6 }),
    ];
    const peaks = calculateMetrics(serial, { durationS: 2.2 });
    assert.equal(peaks.max_concurrent_requests, 3);
    assert.equal(peaks.max_output_tokens_per_s, 5);
  });

  it('is a valid BenchmarkMetrics', () => {
    assert.equal(BenchmarkMetrics.safeParse(m).success, true);
  });
});

describe('calculateMetrics edge cases', () => {
  it("reports 0 latencies (vLLM's `xs or 0`) and zero throughput when every request failed", () => {
    assertFields(calculateMetrics([failed, failed], { durationS: 1, requestRate: 4 }), {
      completed: 0,
      failed: 2,
      mean_ttft_ms: 0,
      p99_itl_ms: 0,
      request_throughput: 0,
      max_output_tokens_per_s: 0,
      request_rate: 4,
      max_concurrency: null,
    });
  });

  it('always includes p99 and rejects a non-positive duration or a bad percentile', () => {
    const m = calculateMetrics([ok({ outputTokens: 2, ttftS: 0.1, itlS: [0.01], latencyS: 0.11 })], {
      durationS: 1,
      selectedPercentiles: [90],
    });
    assert.ok('p90_ttft_ms' in m && 'p99_ttft_ms' in m);
    assert.throws(() => calculateMetrics([], { durationS: 0 }), /durationS must be a positive/);
    assert.throws(() => calculateMetrics([], { durationS: 1, selectedPercentiles: [120] }), /outside \[0, 100\]/);
  });
});

describe('percentile keys as vLLM spells them', () => {
  it('formats like Python: str(int(p)) when whole, else str(p) (scientific below 1e-4)', () => {
    const cases = [
      ['ttft', 99, 'p99_ttft_ms'],
      ['itl', 99.9, 'p99.9_itl_ms'],
      ['e2el', 99.99, 'p99.99_e2el_ms'],
      ['tpot', 0.5, 'p0.5_tpot_ms'],
      ['tpot', 100, 'p100_tpot_ms'],
      ['tpot', 0.00005, 'p5e-05_tpot_ms'], // Python: str(5e-05)
    ] as const;
    for (const [metric, p, key] of cases) assert.equal(percentileKey(metric, p), key);
    assert.ok(PERCENTILE_KEY_RE.test('p5e-05_tpot_ms'));
  });

  it('uses the default percentiles 50, 90, 95, 99 when none are given', () => {
    const m = calculateMetrics([ok({ outputTokens: 2, ttftS: 0.1, itlS: [0.01], latencyS: 0.11 })], { durationS: 1 });
    const keys = Object.keys(m).filter((k) => k.endsWith('_ttft_ms') && k.startsWith('p'));
    assert.deepEqual(keys, ['p50_ttft_ms', 'p90_ttft_ms', 'p95_ttft_ms', 'p99_ttft_ms']);
  });

  it('the schema keeps percentile keys, drops other unknown keys, and rejects a non-number percentile', () => {
    const one = [ok({ outputTokens: 2, ttftS: 0.1, itlS: [0.01], latencyS: 0.11 })];
    const m = calculateMetrics(one, { durationS: 1, selectedPercentiles: [99.9] });
    const parsed = BenchmarkMetrics.parse({ ...m, date: '20260101', ttfts: [0.1] }) as Record<string, unknown>;
    assert.equal(parsed['p99.9_itl_ms'], m['p99.9_itl_ms']);
    assert.equal('date' in parsed || 'ttfts' in parsed, false);
    assert.equal(BenchmarkMetrics.safeParse({ ...m, 'p99.9_itl_ms': 'slow' }).success, false);
  });
});

describe('goodput SLOs and vLLM arguments', () => {
  it("a scenario's own SLOs replace the experiment's; vLLM argv spells them as --goodput key:ms", () => {
    assert.deepEqual(effectiveGoodput({ ttft: 500, tpot: 50 }, undefined), { ttft: 500, tpot: 50 });
    assert.deepEqual(effectiveGoodput({ ttft: 500 }, { e2elMs: 3000 }), { e2el: 3000 });
    assert.equal(effectiveGoodput(undefined, undefined), undefined);
    assert.deepEqual(goodputArgs({ ttft: 500, e2el: 2500.5 }), ['--goodput', 'ttft:500', 'e2el:2500.5']);
    assert.deepEqual(goodputArgs(undefined), []);
    assert.deepEqual(metricPercentilesArgs([99.9, 50]), ['--metric-percentiles', '50,99,99.9']);
    assert.deepEqual(metricPercentilesArgs(undefined), ['--metric-percentiles', '50,90,95,99']);
  });
});
