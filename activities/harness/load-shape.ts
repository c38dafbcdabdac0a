/**
 * One benchmark's load as `vllm bench serve --dataset-name random` takes it. The builtin load generator
 * (loadgen.ts), the vllm harness's command line (vllm-bench-command.ts) and the simulator's virtual run
 * (sim/virtual-run.ts) all take a load in these terms. Pure.
 */
import type { ScenarioSpec } from '../../schema/experiment.js';

export interface LoadShape {
  /** Prompt tokens per request (--random-input-len). */
  inputLen: number;
  /** max_tokens per request (--random-output-len); with ignore_eos every request generates exactly this many. */
  outputLen: number;
  numPrompts: number;
  /** In-flight cap; undefined = unbounded (vLLM's default). */
  maxConcurrency?: number;
  /** Requests per second; undefined = inf (all at t = 0). */
  requestRate?: number;
  /** Gamma shape of the arrival gaps when requestRate is set. @default 1 (Poisson) */
  burstiness?: number;
  /** Seed of the prompts and the arrival schedule (--seed). @default 0 */
  seed?: number;
}

/** A load whose seed is settled (a benchmark's: vLLM's --seed defaults to 0, thorbench always passes it). */
export type SeededLoad = LoadShape & { seed: number };

/** A scenario's load with the seed of this run (a repeat shifts the scenario's seed). */
export function scenarioLoad(s: ScenarioSpec, seed: number): SeededLoad {
  return {
    inputLen: s.inputLen,
    outputLen: s.outputLen,
    numPrompts: s.numPrompts,
    maxConcurrency: s.maxConcurrency,
    requestRate: s.requestRate,
    burstiness: s.burstiness,
    seed,
  };
}
