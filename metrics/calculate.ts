/**
 * vLLM's `calculate_metrics` (vllm/benchmarks/serve.py; definitions in docs/metrics.md) over the builtin load
 * generator's request records, so a builtin-harness cell and a `vllm bench serve` cell report the same quantities:
 * - only successful requests count toward tokens, latencies and throughputs;
 * - TPOT per request = (latency − ttft)/(output tokens − 1), only for requests with more than one output token; the
 *   others are left out of the TPOT statistics but count as TPOT 0 for goodput;
 * - ITL statistics pool every request's chunk gaps;
 * - throughputs divide by the benchmark duration;
 * - goodput counts requests meeting every given SLO (`slo >= value`, DistServe) per second;
 * - statistics are numpy's (metrics/stats.ts), times ×1000 → ms.
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
import { mean, median, percentile, stdPopulation } from './stats.js';
import { percentileKey, type PeakMetrics, type PercentileMetrics } from './vllm-keys.js';

/** Service-level objectives in milliseconds (vllm bench serve --goodput ttft:<ms> tpot:<ms> e2el:<ms>). */
export interface GoodputSlo {
  ttftMs?: number;
  tpotMs?: number;
  e2elMs?: number;
}

export interface CalculateOptions {
  /** Benchmark duration in seconds: first dispatch → last request finished. */
  durationS: number;
  /** Recorded as max_concurrency (null when unbounded, as vLLM writes it). */
  maxConcurrency?: number;
  /** Recorded as request_rate; undefined or Infinity = "inf". */
  requestRate?: number;
  /** Without any SLO request_goodput is null, as in vLLM. */
  goodput?: GoodputSlo;
  /**
   * Percentiles to report (vllm --metric-percentiles, default [99]). 99 is always added: the schema requires p99_*.
   */
  selectedPercentiles?: number[];
}

export type CalculatedMetrics = BenchmarkMetrics & PeakMetrics & PercentileMetrics;

/** vLLM's `np.<stat>(xs or 0) * 1000`: the statistic of an empty list is 0. */
function ms(value: number | null): number {
  return (value ?? 0) * 1000;
}

export function calculateMetrics(requests: readonly RequestRecord[], opts: CalculateOptions): CalculatedMetrics {
  const { durationS } = opts;
  if (!(durationS > 0) || !Number.isFinite(durationS)) {
    throw new RangeError(`calculateMetrics: durationS must be a positive number of seconds, got ${durationS}`);
  }
  const percentiles = [...new Set([...(opts.selectedPercentiles ?? [99]), 99])].sort((a, b) => a - b);
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
  const checks: [number, number[]][] = [];
  if (slo.ttftMs !== undefined) checks.push([slo.ttftMs / 1000, ttfts]);
  if (slo.tpotMs !== undefined) checks.push([slo.tpotMs / 1000, allTpots]);
  if (slo.e2elMs !== undefined) checks.push([slo.e2elMs / 1000, e2els]);
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
