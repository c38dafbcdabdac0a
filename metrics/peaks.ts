/**
 * vLLM's peak metrics (serve.py calculate_metrics, newer versions): the most output tokens in any 1-second bucket and the
 * most requests in flight at the same instant, over successful requests. Token times are reconstructed as
 * start + ttft + cumsum(itl), so like ITL they count chunks, not tokens.
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
  const buckets = new Array<number>(Math.ceil(maxEnd - minStart) + 1).fill(0);
  for (const r of ok) {
    let t = r.startS + r.ttftS;
    const times = [t];
    for (const gap of r.itlS) {
      t += gap;
      times.push(t);
    }
    for (const time of times) {
      const bucket = Math.trunc(time - minStart);
      if (bucket >= 0 && bucket < buckets.length) buckets[bucket]! += 1;
    }
  }

  // Sweep over half-open intervals [start, end): at equal times a departure is counted before an arrival.
  const events = ok.flatMap((r): [number, number][] => [
    [r.startS, 1],
    [r.startS + r.latencyS, -1],
  ]);
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let current = 0;
  let peak = 0;
  for (const [, delta] of events) {
    current += delta;
    peak = Math.max(peak, current);
  }
  let busiest = 0;
  for (const count of buckets) busiest = Math.max(busiest, count);
  return { max_output_tokens_per_s: busiest, max_concurrent_requests: peak };
}
