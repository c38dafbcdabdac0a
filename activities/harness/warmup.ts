/**
 * Warm-up: a load run whose measurements are thrown away, so the benchmark that follows meets an engine with its
 * compile caches, CUDA graphs and allocator already settled (the guide runs one identical discarded run first).
 * Failures are still counted and the first one is returned: an engine that cannot answer the warm-up will not answer
 * the benchmark, and the caller should say why.
 */
import { runLoad, type LoadOptions } from './loadgen.js';

/**
 * Seed used when the caller gives none. It differs from the benchmark's default seed (0) on purpose: prompts of the
 * same seed share their first tokens whatever their length, so a warm-up with the benchmark's seed would leave the
 * benchmark's prompt prefixes in vLLM's prefix cache and flatter its TTFT.
 */
export const WARMUP_DEFAULT_SEED = 0x7741524d;

export interface WarmupResult {
  completed: number;
  failed: number;
  /** The first failed request's error, in dispatch order; null when none failed. */
  firstError: string | null;
}

export async function runWarmup(opts: LoadOptions): Promise<WarmupResult> {
  const { requests } = await runLoad({ ...opts, seed: opts.seed ?? WARMUP_DEFAULT_SEED });
  const failures = requests.filter((r) => !r.success);
  return {
    completed: requests.length - failures.length,
    failed: failures.length,
    firstError: failures[0]?.error ?? null,
  };
}
