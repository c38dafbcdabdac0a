/**
 * vLLM's saved result (`vllm bench serve --save-result --save-detailed`) against thorbench's arithmetic: every
 * aggregate vLLM saved must come back, bit for bit, when metrics/calculate.ts recomputes it from the per-request
 * arrays saved beside it.
 */
import assert from 'node:assert/strict';
import { calculateMetrics, type GoodputSlos } from '../../metrics/calculate.js';
import { parseSaveResultRequests } from '../../parsers/vllm-bench.js';

/**
 * Recomputes the saved run (its duration, concurrency and rate as vLLM saved them; the percentiles and SLOs it was
 * given, which vLLM does not save) and asserts every key both have is equal. `required` must be among the keys
 * compared, so that nothing is silently skipped. Returns the keys compared.
 */
export function assertRecomputedLikeVllm(
  saved: Record<string, unknown>,
  run: { percentiles: readonly number[]; goodput?: GoodputSlos },
  required: readonly string[],
  label: string,
): string[] {
  const requests = parseSaveResultRequests(saved);
  assert.ok(requests !== null && requests.length === saved.num_prompts, `${label}: vLLM saved its per-request arrays`);
  const computed = calculateMetrics(requests, {
    durationS: saved.duration as number,
    maxConcurrency: (saved.max_concurrency as number | null) ?? undefined,
    requestRate: saved.request_rate === 'inf' ? undefined : (saved.request_rate as number),
    goodput: run.goodput,
    selectedPercentiles: [...run.percentiles],
  }) as unknown as Record<string, unknown>;
  const keys = Object.keys(saved).filter((k) => k in computed);
  for (const k of required) assert.ok(keys.includes(k), `${label}: ${k} is compared`);
  for (const k of keys)
    assert.equal(computed[k], saved[k], `${label} ${k}: thorbench ${String(computed[k])} vs vLLM ${String(saved[k])}`);
  return keys;
}
