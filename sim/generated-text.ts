/**
 * Text and lengths of the simulated completions. The engine does not run a model, so tokens are words from a
 * fixed list chosen deterministically from the prompt (temperature-0 vLLM is deterministic too), and prompt
 * tokens are counted with the tokenizer vLLM's client shares (sim/tokenizer.ts) for a string prompt (what
 * vllm bench serve sends), or as the length of an array of token ids (what thorbench's load generator sends).
 */
import { hashString, mulberry32 } from './prng.js';
import { simTokenizer } from './tokenizer.js';

const WORDS = [
  'the',
  'Thor',
  'module',
  'runs',
  'a',
  'simulated',
  'model',
  'that',
  'streams',
  'tokens',
  'from',
  'unified',
  'memory',
  'while',
  'power',
  'and',
  'clocks',
  'shape',
  'each',
  'step',
  'of',
  'decoding',
  'with',
  'batched',
  'requests',
  'on',
  'Blackwell',
  'cores',
  'at',
  'steady',
  'pace',
  'for',
  'benchmarks',
  'in',
  'continuous',
  'batching',
  'mode',
  'so',
  'latency',
  'follows',
  'measured',
  'numbers',
  'closely',
  'enough',
  'to',
  'compare',
  'sweeps',
  'over',
  'time',
  '.',
];

/** A prompt as the OpenAI completions API accepts it (one prompt; thorbench never batches prompts). */
export type PromptInput = string | number[];

export function promptTokenCount(prompt: PromptInput): number {
  if (typeof prompt === 'string') return simTokenizer().count(prompt);
  return prompt.length;
}

export function promptSeed(prompt: PromptInput): number {
  return hashString(typeof prompt === 'string' ? prompt : prompt.join(','));
}

/** Text of the index-th generated token (1-based) for a prompt seed. */
export function tokenText(seed: number, index: number): string {
  return ` ${WORDS[(seed + index * 31) % WORDS.length]}`;
}

/**
 * Where a sequence would end on its own (its EOS) when the request does not set ignore_eos: exponentially
 * distributed with a mean of 3000 tokens, so with the guide's 128-token limit about 4 % of requests stop early,
 * close to the guide's runs without ignore_eos (12 419 of 12 800 tokens).
 */
export function naturalLength(seed: number): number {
  const u = mulberry32(seed ^ 0x5eed)();
  return 1 + Math.floor(-Math.log(1 - u) * 3000);
}
