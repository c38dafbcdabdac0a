/**
 * Seeded random prompts as token ids, like vLLM's `random` dataset. Sending `prompt` as an array of integers (which
 * vLLM's /v1/completions accepts) makes the input length exact without a tokenizer: no decode/re-encode drift, no
 * model-specific vocabulary file on the worker.
 *
 * Each prompt has its own seed derived from (seed, index), so prompt i is the same whatever the other prompts are and
 * can be generated at dispatch time rather than all up front (a million prompts × 2048 tokens would not fit).
 *
 * Pure: no I/O.
 */
import { deriveSeed, mulberry32 } from './prng.js';

/**
 * Token ids are drawn from [PROMPT_TOKEN_MIN, PROMPT_TOKEN_MAX): above the special and byte-level tokens at the start of
 * common vocabularies and below the size of every vocabulary a Thor serves (Qwen3: 151k, Llama 3: 128k).
 */
export const PROMPT_TOKEN_MIN = 1000;
export const PROMPT_TOKEN_MAX = 30000;

/** The token ids of prompt `index` of a run with `seed`. */
export function promptTokens(seed: number, index: number, inputLen: number): number[] {
  const random = mulberry32(deriveSeed(seed, index));
  const tokens = new Array<number>(inputLen);
  for (let i = 0; i < inputLen; i++)
    tokens[i] = PROMPT_TOKEN_MIN + Math.floor(random() * (PROMPT_TOKEN_MAX - PROMPT_TOKEN_MIN));
  return tokens;
}

/** All prompts of a run (for tests and small runs; the load generator calls promptTokens per dispatch). */
export function generatePrompts(opts: { numPrompts: number; inputLen: number; seed: number }): number[][] {
  return Array.from({ length: opts.numPrompts }, (_, i) => promptTokens(opts.seed, i, opts.inputLen));
}
