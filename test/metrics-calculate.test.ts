/**
 * calculateMetrics must give what vLLM's calculate_metrics gives for the same request outputs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BenchmarkMetrics } from '../schema/metrics.js';
import { calculateMetrics } from '../metrics/calculate.js';
import type { RequestRecord } from '../metrics/request-record.js';
import { near } from './helpers/near.js';

const ok = (r: Partial<RequestRecord> & Pick<RequestRecord, 'ttftS' | 'itlS' | 'latencyS' | 'outputTokens'>): RequestRecord => ({
  success: true,
  error: null,
  promptLen: 10,
  startS: 0,
  ...r,
});
const failed: RequestRecord = { success: false, error: 'HTTP 500', promptLen: 10, outputTokens: 0, ttftS: 0, itlS: [], latencyS: 0, startS: 0 };


describe('calculateMetrics by hand', () => {
  const requests: RequestRecord[] = [
    ok({ promptLen: 10, outputTokens: 4, ttftS: 0.1, itlS: [0.02, 0.03, 0.05], latencyS: 0.2, startS: 0 }),
    ok({ promptLen: 12, outputTokens: 1, ttftS: 0.3, itlS: [], latencyS: 0.3, startS: 0.05 }),
    ok({ promptLen: 8, outputTokens: 3, ttftS: 0.2, itlS: [0.1, 0.1], latencyS: 0.4, startS: 1.0 }),
    failed,
  ];
  const m = calculateMetrics(requests, { durationS: 2, maxConcurrency: 8, goodput: { ttftMs: 250, tpotMs: 50 } });

  it('counts only successful requests', () => {
    assert.equal(m.completed, 3);
    assert.equal(m.failed, 1);
    assert.equal(m.total_input_tokens, 30);
    assert.equal(m.total_output_tokens, 8);
    assert.equal(m.request_throughput, 1.5);
    assert.equal(m.output_throughput, 4);
    assert.equal(m.total_token_throughput, 19);
    assert.equal(m.duration, 2);
    assert.equal(m.max_concurrency, 8);
    assert.equal(m.request_rate, 'inf');
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
    const tpotOnly = calculateMetrics(requests, { durationS: 2, goodput: { tpotMs: 50 } });
    assert.equal(tpotOnly.request_goodput, 1); // r1 and r2 (TPOT counted as 0)
    assert.equal(calculateMetrics(requests, { durationS: 2 }).request_goodput, null);
    assert.equal(calculateMetrics(requests, { durationS: 2, goodput: {} }).request_goodput, null);
  });

  it('computes vLLM\'s peak metrics from chunk times and in-flight intervals', () => {
    assert.equal(m.max_output_tokens_per_s, 5); // second 0: 4 chunks of r1 + 1 of r2
    assert.equal(m.max_concurrent_requests, 2);
  });

  it('is a valid BenchmarkMetrics', () => {
    assert.equal(BenchmarkMetrics.safeParse(m).success, true);
  });
});

describe('calculateMetrics against vLLM', () => {
  // The same integer formulas fed to vLLM's calculate_metrics (numpy 2.4.6) printed the expected values below.
  const records: RequestRecord[] = Array.from({ length: 40 }, (_, i) => {
    const out = i % 11 === 3 ? 1 : 16;
    const ttft = 0.05 + ((i * 7) % 13) / 100;
    const itl = Array.from({ length: out - 1 }, (_, j) => 0.01 + ((i * 31 + j * 17) % 29) / 10000);
    let latency = ttft;
    for (const g of itl) latency += g;
    return { success: i % 9 !== 4, error: i % 9 !== 4 ? null : 'x', promptLen: 100 + (i % 5), outputTokens: out, ttftS: ttft, itlS: itl, latencyS: latency, startS: i * 0.125 };
  });

  it('reproduces every key bit for bit', () => {
    const m = calculateMetrics(records, { durationS: 9.5, goodput: { ttftMs: 200, tpotMs: 11.5 }, selectedPercentiles: [50, 99, 99.9] });
    const expected = {
      completed: 36,
      failed: 4,
      total_input_tokens: 3670,
      total_output_tokens: 516,
      request_throughput: 3.789473684210526,
      request_goodput: 3.263157894736842,
      output_throughput: 54.31578947368421,
      total_token_throughput: 440.63157894736844,
      mean_ttft_ms: 108.88888888888889,
      median_ttft_ms: 110.0,
      std_ttft_ms: 37.10179523792,
      p50_ttft_ms: 110.0,
      p99_ttft_ms: 169.99999999999997,
      'p99.9_ttft_ms': 169.99999999999997,
      mean_tpot_ms: 11.398333333333333,
      median_tpot_ms: 11.396666666666665,
      std_tpot_ms: 0.08709828420302695,
      p50_tpot_ms: 11.396666666666665,
      p99_tpot_ms: 11.531266666666665,
      'p99.9_tpot_ms': 11.533126666666663,
      mean_itl_ms: 11.398333333333335,
      median_itl_ms: 11.4,
      std_itl_ms: 0.8342145340911347,
      p50_itl_ms: 11.4,
      p99_itl_ms: 12.8,
      'p99.9_itl_ms': 12.8,
      mean_e2el_ms: 260.86666666666656,
      median_e2el_ms: 266.85,
      std_e2el_ms: 63.5850261897843,
      p50_e2el_ms: 266.85,
      p99_e2el_ms: 342.4399999999999,
      'p99.9_e2el_ms': 342.9439999999999,
      max_output_tokens_per_s: 110,
      max_concurrent_requests: 3,
    };
    for (const [key, value] of Object.entries(expected)) assert.equal((m as unknown as Record<string, unknown>)[key], value, key);
  });
});

describe('calculateMetrics edge cases', () => {
  it('reports 0 latencies (vLLM\'s `xs or 0`) and zero throughput when every request failed', () => {
    const m = calculateMetrics([failed, failed], { durationS: 1, requestRate: 4 });
    assert.equal(m.completed, 0);
    assert.equal(m.failed, 2);
    assert.equal(m.mean_ttft_ms, 0);
    assert.equal(m.p99_itl_ms, 0);
    assert.equal(m.request_throughput, 0);
    assert.equal(m.max_output_tokens_per_s, 0);
    assert.equal(m.request_rate, 4);
    assert.equal(m.max_concurrency, null);
  });

  it('always includes p99 and rejects a non-positive duration or a bad percentile', () => {
    const m = calculateMetrics([ok({ outputTokens: 2, ttftS: 0.1, itlS: [0.01], latencyS: 0.11 })], { durationS: 1, selectedPercentiles: [90] });
    assert.ok('p90_ttft_ms' in m && 'p99_ttft_ms' in m);
    assert.throws(() => calculateMetrics([], { durationS: 0 }), /durationS must be a positive/);
    assert.throws(() => calculateMetrics([], { durationS: 1, selectedPercentiles: [120] }), /outside \[0, 100\]/);
  });
});
