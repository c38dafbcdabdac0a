/**
 * Benchmark metrics, named exactly as vLLM's `vllm bench serve --save-result` JSON names them, so numbers from
 * thorbench, from the guide and from vLLM's own tool line up key for key. Times in the `_ms` fields are
 * milliseconds; `duration` is seconds; throughputs are per second.
 *
 * Deterministic: imported by workflow code.
 */
import { z } from 'zod';

/** The statistics vLLM reports per latency metric. */
export const LATENCY_METRICS = ['ttft', 'tpot', 'itl', 'e2el'] as const;
export type LatencyMetric = (typeof LATENCY_METRICS)[number];

const n = z.number();
const optionalN = z.number().nullable().optional();

export const BenchmarkMetrics = z.object({
  /** Benchmark duration in seconds: first request sent → last request finished. */
  duration: n,
  completed: n,
  failed: n.default(0),
  max_concurrency: n.nullable().optional(),
  request_rate: z.union([n, z.literal('inf')]).optional(),
  total_input_tokens: n,
  total_output_tokens: n,
  request_throughput: n,
  request_goodput: optionalN,
  output_throughput: n,
  total_token_throughput: n,
  mean_ttft_ms: n,
  median_ttft_ms: n,
  std_ttft_ms: optionalN,
  p99_ttft_ms: n,
  mean_tpot_ms: n,
  median_tpot_ms: n,
  std_tpot_ms: optionalN,
  p99_tpot_ms: n,
  mean_itl_ms: n,
  median_itl_ms: n,
  std_itl_ms: optionalN,
  p99_itl_ms: n,
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
export type BenchmarkMetrics = z.infer<typeof BenchmarkMetrics>;
