/**
 * The metric key names vLLM's `--save-result` JSON uses beyond the fixed set in schema/metrics.ts: one key per selected
 * percentile (`p99_ttft_ms`, `p99.9_itl_ms`) and the newer peak metrics. Shared by the calculator and the importers so
 * both spell keys exactly as vLLM does.
 *
 * Deterministic: no Node.js APIs.
 */
import type { BenchmarkMetrics, LatencyMetric } from '../schema/metrics.js';

/** `p<NN>_<metric>_ms`, e.g. p99_ttft_ms, p99.9_itl_ms. */
export type PercentileKey = `p${string}_${LatencyMetric}_ms`;

/** Percentile keys for any percentile besides the p99 the schema names. */
export type PercentileMetrics = { [key: PercentileKey]: number | null | undefined };

/**
 * vLLM's peak metrics (newer serve.py): output tokens in the busiest 1-s bucket, and the most requests in flight at
 * once. Not printed by older versions, so optional wherever they are parsed.
 */
export interface PeakMetrics {
  max_output_tokens_per_s: number;
  max_concurrent_requests: number;
}

/** BenchmarkMetrics plus vLLM's other metric keys. */
export type ExtendedMetrics = BenchmarkMetrics & Partial<PeakMetrics> & PercentileMetrics;

export const PERCENTILE_KEY_RE = /^p(\d+(?:\.\d+)?)_(ttft|tpot|itl|e2el)_ms$/;

/** vLLM's key for a percentile: `str(int(p)) if int(p) == p else str(p)`, so 99 → p99, 99.9 → p99.9. */
export function percentileKey(metric: LatencyMetric, p: number): PercentileKey {
  const word = Number.isInteger(p) ? String(Math.trunc(p)) : String(p);
  return `p${word}_${metric}_ms`;
}
