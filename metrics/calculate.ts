/**
 * vLLM 0.33's `calculate_metrics` (vllm/benchmarks/serve.py), reproduced operation for operation so that metrics
 * computed by thorbench from per-request records equal the ones `vllm bench serve` computes from the same records.
 * test/metrics-vllm.test.ts checks this against real vLLM 0.33 output (fixtures/vllm-0.33-client); the
 * definitions are written out in docs/metrics.md.
 *
 * Definitions (keys as vLLM's --save-result JSON names them; "successful" = HTTP 200 and a streamed chunk):
 * - `completed` / `failed`: successful / failed requests.
 * - `total_input_tokens`: Σ prompt tokens, successful requests only. `total_output_tokens`: Σ output tokens, same.
 * - `request_throughput` = completed / duration; `output_throughput` = total_output_tokens / duration;
 *   `total_token_throughput` = (total_input_tokens + total_output_tokens) / duration. `duration` is the benchmark's
 *   wall time in seconds (first request dispatched → last request finished).
 * - TTFT per request: request sent → first chunk. E2EL: request sent → last chunk.
 * - TPOT per request = (E2EL − TTFT) / (output tokens − 1), only for requests with more than one output token.
 * - ITL: every gap between successive chunks, pooled over requests (a chunk may carry several tokens).
 * - For each of TTFT, TPOT, ITL, E2EL: `mean_`, `median_`, `std_` (population, ddof 0) and `p<P>_` for each
 *   selected percentile (numpy's linear interpolation), in milliseconds (× 1000 after the statistic).
 * - `request_goodput`: successful requests meeting every goodput SLO (SLO ≥ value; a one-token request counts as
 *   TPOT 0), per second of duration; null when no SLO is set.
 * - `max_output_tokens_per_s`, `max_concurrent_requests`: 1-second bucket peaks (metrics/peaks.ts).
 *
 * Where a list is empty (no successful request, or none with more than one token) vLLM reports 0 (`np.mean(xs or 0)`),
 * and so does this function, so that numbers compare with vLLM's. A 0 latency therefore means "nothing measured":
 * look at `completed` before reading latencies.
 *
 * Deterministic: no Node.js APIs.
 */
import { LATENCY_METRICS, type BenchmarkMetrics, type LatencyMetric } from '../schema/metrics.js';
import { peakMetrics } from './peaks.js';
import type { RequestRecord } from './request-record.js';
import { selectedPercentiles, type GoodputSlos } from './slo.js';
import { mean, median, percentile, stdPopulation } from './stats.js';
import { percentileKey, type PeakMetrics } from './vllm-keys.js';

export type { GoodputSlos } from './slo.js';

export interface CalculateOptions {
  /** Benchmark duration in seconds: first dispatch → last request finished. */
  durationS: number;
  /** Recorded as max_concurrency (null when unbounded, as vLLM writes it). */
  maxConcurrency?: number;
  /** Recorded as request_rate; undefined or Infinity = "inf". */
  requestRate?: number;
  /** vLLM's --goodput SLOs in ms. Without any, request_goodput is null, as in vLLM's JSON. */
  goodput?: GoodputSlos;
  /** Percentiles to report (vllm --metric-percentiles); default metrics/slo.ts DEFAULT_PERCENTILES; 99 always added. */
  selectedPercentiles?: readonly number[];
}

/** The latency statistics calculateMetrics always computes (an imported vLLM result may lack any of them). */
type MeasuredLatencies = Record<`${'mean' | 'median' | 'std' | 'p99'}_${LatencyMetric}_ms`, number>;

export type CalculatedMetrics = BenchmarkMetrics & PeakMetrics & MeasuredLatencies;

/** vLLM's `np.<stat>(xs or 0) * 1000`: the statistic of an empty list is 0. */
function ms(value: number | null): number {
  return (value ?? 0) * 1000;
}

export function calculateMetrics(requests: readonly RequestRecord[], opts: CalculateOptions): CalculatedMetrics {
  const { durationS } = opts;
  if (!(durationS > 0) || !Number.isFinite(durationS)) {
    throw new RangeError(`calculateMetrics: durationS must be a positive number of seconds, got ${durationS}`);
  }
  const percentiles = selectedPercentiles(opts.selectedPercentiles);
  for (const p of percentiles) {
    if (!(p >= 0 && p <= 100)) throw new RangeError(`calculateMetrics: selected percentile ${p} is outside [0, 100]`);
  }

  let completed = 0;
  let failed = 0;
  let totalInput = 0;
  let totalOutput = 0;
  const ttfts: number[] = [];
  const tpots: number[] = [];
  const allTpots: number[] = [];
  const itls: number[] = [];
  const e2els: number[] = [];
  for (const r of requests) {
    if (!r.success) {
      failed += 1;
      continue;
    }
    completed += 1;
    totalInput += r.promptLen;
    totalOutput += r.outputTokens;
    let tpot = 0;
    if (r.outputTokens > 1) {
      tpot = (r.latencyS - r.ttftS) / (r.outputTokens - 1);
      tpots.push(tpot);
    }
    allTpots.push(tpot);
    for (const gap of r.itlS) itls.push(gap);
    ttfts.push(r.ttftS);
    e2els.push(r.latencyS);
  }

  let requestGoodput: number | null = null;
  const slo = opts.goodput ?? {};
  // vLLM divides the SLO by 1000 (MILLISECONDS_TO_SECONDS_CONVERSION) and compares in seconds.
  const checks: [number, number[]][] = [];
  if (slo.ttft !== undefined) checks.push([slo.ttft / 1000, ttfts]);
  if (slo.tpot !== undefined) checks.push([slo.tpot / 1000, allTpots]);
  if (slo.e2el !== undefined) checks.push([slo.e2el / 1000, e2els]);
  if (checks.length > 0) {
    let good = 0;
    for (let i = 0; i < completed; i++) if (checks.every(([limit, values]) => limit >= values[i]!)) good += 1;
    requestGoodput = good / durationS;
  }

  const rate = opts.requestRate;
  const out: Record<string, unknown> = {
    duration: durationS,
    completed,
    failed,
    max_concurrency: opts.maxConcurrency ?? null,
    request_rate: rate === undefined || rate === Infinity ? 'inf' : rate,
    total_input_tokens: totalInput,
    total_output_tokens: totalOutput,
    request_throughput: completed / durationS,
    request_goodput: requestGoodput,
    output_throughput: totalOutput / durationS,
    total_token_throughput: (totalInput + totalOutput) / durationS,
    ...peakMetrics(requests),
  };
  const series: Record<LatencyMetric, number[]> = { ttft: ttfts, tpot: tpots, itl: itls, e2el: e2els };
  for (const metric of LATENCY_METRICS) {
    const xs = series[metric];
    out[`mean_${metric}_ms`] = ms(mean(xs));
    out[`median_${metric}_ms`] = ms(median(xs));
    out[`std_${metric}_ms`] = ms(stdPopulation(xs));
    for (const p of percentiles) out[percentileKey(metric, p)] = ms(percentile(xs, p));
  }
  return out as unknown as CalculatedMetrics;
}
