/**
 * vLLM's peak metrics, exactly as vLLM 0.33's `calculate_metrics` (vllm/benchmarks/serve.py) computes them over the
 * successful requests, with time measured from the earliest successful request's start and cut into 1-second buckets
 * (`int(t - min_start)`, i.e. truncation):
 * - `max_output_tokens_per_s`: the most output chunks whose arrival falls in one bucket. Arrival times are rebuilt as
 *   start + ttft, then + each ITL gap in turn, so like ITL this counts streamed chunks, not tokens.
 * - `max_concurrent_requests`: the most requests *active during* one bucket. A request counts in every bucket from the
 *   one holding its start to the one holding its end, inclusive. This is not the most requests in flight at one
 *   instant: with back-to-back requests at concurrency 8, the one-second buckets see the requests that finished in
 *   that second and those that replaced them, so vLLM prints about twice the concurrency for short requests.
 *
 * Deterministic: no Node.js APIs.
 */
import type { PeakMetrics } from './vllm-keys.js';
import type { RequestRecord } from './request-record.js';

export function peakMetrics(requests: readonly RequestRecord[]): PeakMetrics {
  const ok = requests.filter((r) => r.success);
  if (ok.length === 0) return { max_output_tokens_per_s: 0, max_concurrent_requests: 0 };

  // Loops rather than Math.min(...xs): a million-request run would overflow the argument list.
  let minStart = Infinity;
  let maxEnd = -Infinity;
  for (const r of ok) {
    minStart = Math.min(minStart, r.startS);
    maxEnd = Math.max(maxEnd, r.startS + r.latencyS);
  }
  // vLLM: int(np.ceil(max_end_time - min_start_time)) + 1 buckets.
  const bucketCount = Math.ceil(maxEnd - minStart) + 1;
  const tokens = new Array<number>(bucketCount).fill(0);
  const active = new Array<number>(bucketCount).fill(0);
  for (const r of ok) {
    let t = r.startS + r.ttftS;
    const first = Math.trunc(t - minStart);
    if (first >= 0 && first < bucketCount) tokens[first]! += 1;
    for (const gap of r.itlS) {
      t += gap;
      const bucket = Math.trunc(t - minStart);
      if (bucket >= 0 && bucket < bucketCount) tokens[bucket]! += 1;
    }
    const startBucket = Math.trunc(r.startS - minStart);
    const endBucket = Math.trunc(r.startS + r.latencyS - minStart);
    for (let s = startBucket; s <= endBucket; s++) active[s]! += 1;
  }
  let busiest = 0;
  let mostActive = 0;
  for (let i = 0; i < bucketCount; i++) {
    busiest = Math.max(busiest, tokens[i]!);
    mostActive = Math.max(mostActive, active[i]!);
  }
  return { max_output_tokens_per_s: busiest, max_concurrent_requests: mostActive };
}
