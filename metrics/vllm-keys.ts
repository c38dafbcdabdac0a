/**
 * How vLLM spells the metric keys that are not fixed: one key per selected percentile (`p99_ttft_ms`, `p99.9_itl_ms`)
 * and the peak metrics. Shared by the calculator, the importers and the harnesses so all spell keys exactly as vLLM.
 *
 * Deterministic: no Node.js APIs.
 */
import type { BenchmarkMetrics, LatencyMetric, PercentileKey, PercentileMetrics } from '../schema/metrics.js';

export { PERCENTILE_KEY_RE, type PercentileKey, type PercentileMetrics } from '../schema/metrics.js';

/** vLLM's peak metrics as the calculator always produces them (optional in BenchmarkMetrics: older vLLM lacks them). */
export interface PeakMetrics {
  max_output_tokens_per_s: number;
  max_concurrent_requests: number;
}

/** BenchmarkMetrics, which already carries the percentile and (optional) peak keys. */
export type ExtendedMetrics = BenchmarkMetrics & PercentileMetrics;

/**
 * Python's `str(float)` for a percentile in [0, 100]: shortest round-trip digits, and scientific notation with a
 * two-digit exponent below 1e-4 (Python's repr switches there, JavaScript only below 1e-6).
 */
function pythonFloatStr(p: number): string {
  if (p !== 0 && Math.abs(p) < 1e-4) {
    const [mantissa, exp] = p.toExponential().split('e') as [string, string];
    const sign = exp.startsWith('-') ? '-' : '+';
    return `${mantissa}e${sign}${exp.replace(/^[-+]/, '').padStart(2, '0')}`;
  }
  return String(p);
}

/** vLLM's word for a percentile: `str(int(p)) if int(p) == p else str(p)`, so 99 → "99", 99.9 → "99.9". */
export function percentileWord(p: number): string {
  return Number.isInteger(p) ? String(Math.trunc(p)) : pythonFloatStr(p);
}

/** `p<word>_<metric>_ms`, e.g. p99_ttft_ms, p99.9_itl_ms — the key vLLM's --save-result JSON uses. */
export function percentileKey(metric: LatencyMetric, p: number): PercentileKey {
  return `p${percentileWord(p)}_${metric}_ms`;
}
