/**
 * Benchmark metrics, named exactly as vLLM's `vllm bench serve --save-result` JSON names them, so numbers from
 * thorbench, from the guide and from vLLM's own tool line up key for key. Times in the `_ms` fields are
 * milliseconds; `duration` is seconds; throughputs are per second. How each one is computed is defined in
 * metrics/calculate.ts, which reproduces vLLM 0.33's `calculate_metrics`.
 *
 * Besides the fixed keys below, a metrics object carries one key per selected percentile and latency metric,
 * spelled as vLLM spells it: `p50_ttft_ms`, `p99_itl_ms`, `p99.9_e2el_ms` (metrics/vllm-keys.ts).
 *
 * Every latency statistic is optional. thorbench's own harnesses always measure TTFT, TPOT, ITL and E2EL with p99
 * among the percentiles (metrics/slo.ts selectedPercentiles), but an imported vLLM result holds only what its run was
 * asked for: `--percentile-metrics ttft,tpot` leaves out every ITL key, `--metric-percentiles 50,90` every p99 key.
 * Readers show a missing statistic as "—" (report/format.ts).
 *
 * Deterministic: imported by workflow code.
 */
import { z } from 'zod';

/** The statistics vLLM reports per latency metric. */
export const LATENCY_METRICS = ['ttft', 'tpot', 'itl', 'e2el'] as const;
export type LatencyMetric = (typeof LATENCY_METRICS)[number];

/** `p<P>_<metric>_ms`, e.g. p99_ttft_ms, p99.9_itl_ms (P as vLLM formats it: metrics/vllm-keys.ts percentileKey). */
export type PercentileKey = `p${string}_${LatencyMetric}_ms`;
export type PercentileMetrics = { [key: PercentileKey]: number | null | undefined };

/** Matches a percentile key; group 1 is the percentile as written, group 2 the latency metric. */
export const PERCENTILE_KEY_RE = /^p(\d+(?:\.\d+)?(?:e-\d+)?)_(ttft|tpot|itl|e2el)_ms$/;

const n = z.number();
const optionalN = z.number().nullable().optional();

const FixedMetrics = z.object({
  /** Benchmark duration in seconds: first request sent → last request finished. */
  duration: n,
  /** Requests that succeeded (HTTP 200 and at least one streamed chunk). */
  completed: n,
  /** Requests that failed; 0 in results of vLLM versions that did not print the line. */
  failed: n.default(0),
  /** The client's --max-concurrency; null when unbounded. */
  max_concurrency: n.nullable().optional(),
  /** The client's --request-rate in requests/s; "inf" when every request is sent at once. */
  request_rate: z.union([n, z.literal('inf')]).optional(),
  /** Σ prompt tokens of the successful requests. */
  total_input_tokens: n,
  /** Σ output tokens of the successful requests. */
  total_output_tokens: n,
  /** completed / duration. */
  request_throughput: n,
  /** Successful requests meeting every goodput SLO, per second of duration; null when no SLO was given. */
  request_goodput: optionalN,
  /** total_output_tokens / duration. */
  output_throughput: n,
  /** (total_input_tokens + total_output_tokens) / duration. */
  total_token_throughput: n,
  /** Most output chunks arriving within one 1-second bucket (metrics/peaks.ts). Newer vLLM only. */
  max_output_tokens_per_s: optionalN,
  /** Most requests active during one 1-second bucket (metrics/peaks.ts). Newer vLLM only. */
  max_concurrent_requests: optionalN,
  /** Time to first token: request sent → first streamed chunk with text, over successful requests. */
  mean_ttft_ms: optionalN,
  median_ttft_ms: optionalN,
  /** Population standard deviation (numpy's default); absent in imported printed blocks (vLLM never prints it). */
  std_ttft_ms: optionalN,
  p99_ttft_ms: optionalN,
  /** Time per output token excluding the first: (e2el − ttft) / (output tokens − 1), per request with > 1 token. */
  mean_tpot_ms: optionalN,
  median_tpot_ms: optionalN,
  std_tpot_ms: optionalN,
  p99_tpot_ms: optionalN,
  /** Inter-token latency: every gap between successive streamed chunks, pooled over all successful requests. */
  mean_itl_ms: optionalN,
  median_itl_ms: optionalN,
  std_itl_ms: optionalN,
  p99_itl_ms: optionalN,
  /** End-to-end latency: request sent → last streamed chunk. */
  mean_e2el_ms: optionalN,
  median_e2el_ms: optionalN,
  std_e2el_ms: optionalN,
  p99_e2el_ms: optionalN,
  /** Energy over the benchmark window from the board input rail (VIN), when telemetry was available. */
  energy_j: optionalN,
  avg_power_w: optionalN,
  energy_per_output_token_j: optionalN,
  output_throughput_per_w: optionalN,
});

/** The fixed metric keys, in the order reports and CSV list them. Percentile keys other than p99 come on top. */
export const METRIC_KEYS = Object.keys(FixedMetrics.shape) as (keyof z.infer<typeof FixedMetrics>)[];
const FIXED_KEY_SET: ReadonlySet<string> = new Set(METRIC_KEYS);

export type BenchmarkMetrics = z.infer<typeof FixedMetrics> & PercentileMetrics;

/**
 * Validates a metrics object: the fixed keys typed as above, every `p<P>_<metric>_ms` key a number or null; any
 * other key (run metadata, per-request arrays of a `--save-result` file) is dropped.
 */
export const BenchmarkMetrics = FixedMetrics.catchall(z.unknown()).transform((input, ctx): BenchmarkMetrics => {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (FIXED_KEY_SET.has(key)) out[key] = value;
    else if (PERCENTILE_KEY_RE.test(key)) {
      if (typeof value === 'number' || value === null) out[key] = value;
      else ctx.addIssue({ code: 'custom', path: [key], message: `${key} must be a number or null` });
    }
  }
  return out as BenchmarkMetrics;
});

/** Percentile keys present in a metrics object, e.g. ["p50_ttft_ms", "p99_ttft_ms", …], in the object's order. */
export function percentileKeysOf(metrics: object): PercentileKey[] {
  return Object.keys(metrics).filter((k): k is PercentileKey => PERCENTILE_KEY_RE.test(k));
}
