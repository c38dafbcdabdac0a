/**
 * The scheduler of the simulated vLLM engine, modelled on vLLM V1's: continuous batching under a per-step token
 * budget, with no clock of its own.
 *
 * vLLM runs the model in steps. Each step the scheduler first gives every running request what it needs (one
 * token for a decoding request, the rest of its prompt for one still in prefill), then admits waiting requests in
 * arrival order while the step's token budget (`--max-num-batched-tokens`) and the running-request limit
 * (`--max-num-seqs`) allow. A prompt larger than what is left of the budget is split over several steps (chunked
 * prefill). A step that carries a prompt is much longer than a decode-only step, and every running sequence waits
 * for it: that is where the long tail of the inter-token latency under load comes from, and, with several requests
 * arriving together, why a new request waits behind the prompts admitted before it.
 *
 * Prefix caching (on by default in vLLM V1): a prompt identical to one processed before (vllm bench serve's random
 * dataset repeats its prompts between runs with the same seed) is served from the cache; only its last block is
 * computed again. The cache holds prompts, not blocks, and forgets the oldest beyond `prefixCacheTokens`.
 *
 * The caller supplies the cost of a step (sim/latency-model.ts) and decides what time means: sim/virtual-run.ts
 * advances a virtual clock, sim/live-engine.ts waits in real time. Both therefore behave the same.
 *
 * Simplifications, on purpose: no KV-cache capacity limit or preemption (the guide's scenarios stay within a
 * 128 GB Thor's cache at the default --max-num-seqs), one token per sequence per step (no speculative decoding).
 */

export interface SequenceSpec {
  /** Prompt length in tokens. */
  promptTokens: number;
  /** max_tokens of the request. */
  maxTokens: number;
  /**
   * Tokens after which the sequence ends on its own (its EOS). Infinity with ignore_eos: then exactly maxTokens
   * are generated.
   */
  eosAfter: number;
  /** Identity of the prompt's content for the prefix cache; omitted = never cached. */
  promptKey?: number;
}

/** What a step looks like to the cost model. */
export interface StepShape {
  /** Sequences that get a token from this step's decode. */
  decoding: number;
  /** Sum of the context lengths (prompt + generated) of the decoding sequences. */
  contextTokens: number;
  /** Prompt tokens computed in this step. */
  prefillTokens: number;
  /** Requests whose prompt tokens are in this step. */
  prefilling: number;
}

/** What a step costs, possibly different at every step (power mode and clocks change). */
export interface StepPolicy {
  /** Duration of a step in milliseconds. */
  costMs(shape: StepShape): number;
}

export type FinishReason = 'length' | 'stop';

export interface TokenEvent {
  id: number;
  /** 1-based number of this token within its sequence; 1 is the first token (end of prefill). */
  index: number;
  /** Set on the sequence's last token. */
  finishReason: FinishReason | null;
}

export interface StepResult {
  durationMs: number;
  shape: StepShape;
  events: TokenEvent[];
}

interface Sequence {
  id: number;
  spec: SequenceSpec;
  /** Prompt tokens not yet computed. */
  prefillLeft: number;
  generated: number;
}

export interface BatchEngineOptions {
  /** vLLM --max-num-seqs: requests running at once. */
  maxNumSeqs: number;
  /** vLLM --max-num-batched-tokens: tokens (decode + prompt) a step may carry. */
  maxNumBatchedTokens: number;
  /** Tokens of prompts the prefix cache remembers; 0 disables it (--no-enable-prefix-caching). */
  prefixCacheTokens?: number;
}

/**
 * Default token budget of a step. vLLM V1's default for the API server is 2048 tokens on devices it sizes below
 * 70 GiB of GPU memory, 8192 above; the guide's Thor runs show the smaller budget: in every high-load block the
 * p99 TTFT (the 7th request of the initial burst of 8) is 6 prompt steps, one prompt per step, and the 0.9.2
 * long-context runs carry about 2045 tokens per step. A 2048-token prompt beside 7 running decodes then takes two
 * steps, and its first token comes with the step that carries the next prompt.
 */
export const DEFAULT_MAX_NUM_BATCHED_TOKENS = 2048;
/** vLLM's default --max-num-seqs. */
export const DEFAULT_MAX_NUM_SEQS = 256;
/** vLLM's KV-cache block size: a fully cached prompt still computes its last block. */
export const CACHE_BLOCK_TOKENS = 16;
/** Prompt tokens the simulated prefix cache keeps by default (a fraction of a Thor's KV cache). */
export const DEFAULT_PREFIX_CACHE_TOKENS = 1_000_000;

export class BatchEngine {
  private readonly waiting: Sequence[] = [];
  private readonly running: Sequence[] = [];
  private nextId = 1;
  /** Cached prompts by key → their length, oldest first (Map keeps insertion order). */
  private readonly cache = new Map<number, number>();
  private cachedTokens = 0;

  constructor(private readonly opts: BatchEngineOptions) {
    if (!(opts.maxNumSeqs >= 1) || !(opts.maxNumBatchedTokens >= 1)) {
      throw new RangeError('max-num-seqs and max-num-batched-tokens must be at least 1');
    }
  }

  /** Queues a request; returns its id. */
  add(spec: SequenceSpec): number {
    if (!(spec.promptTokens >= 1) || !(spec.maxTokens >= 1))
      throw new RangeError('a request needs a prompt and max_tokens ≥ 1');
    const id = this.nextId++;
    let prefillLeft = spec.promptTokens;
    if (spec.promptKey !== undefined && this.cache.get(spec.promptKey) === spec.promptTokens) {
      // vLLM recomputes at least the last token; block-aligned, that is the last (partial) block.
      prefillLeft = spec.promptTokens - Math.floor((spec.promptTokens - 1) / CACHE_BLOCK_TOKENS) * CACHE_BLOCK_TOKENS;
      this.cache.delete(spec.promptKey);
      this.cache.set(spec.promptKey, spec.promptTokens);
    }
    this.waiting.push({ id, spec, prefillLeft, generated: 0 });
    return id;
  }

  /** Drops a request (client went away). Returns whether it was still in flight. */
  cancel(id: number): boolean {
    for (const list of [this.waiting, this.running]) {
      const i = list.findIndex((s) => s.id === id);
      if (i >= 0) {
        list.splice(i, 1);
        return true;
      }
    }
    return false;
  }

  /** Requests in flight: waiting, in prefill or decoding. */
  get inFlight(): number {
    return this.waiting.length + this.running.length;
  }

  /** Requests not yet admitted to the running batch. */
  get prefilling(): number {
    return this.waiting.length;
  }

  /** Requests in the running batch. */
  get decoding(): number {
    return this.running.length;
  }

  get idle(): boolean {
    return this.inFlight === 0;
  }

  /**
   * Builds and applies one step (see the module comment). Returns the step's cost and the tokens it produced: one
   * per decoding request, and the first token of every request whose prompt completes. Call only when not idle.
   */
  step(policy: StepPolicy): StepResult {
    let budget = this.opts.maxNumBatchedTokens;
    const decodingSeqs: Sequence[] = [];
    const prefilled: Sequence[] = [];
    let contextTokens = 0;
    let prefillTokens = 0;
    let prefilling = 0;
    const prefill = (s: Sequence): void => {
      const take = Math.min(budget, s.prefillLeft);
      s.prefillLeft -= take;
      budget -= take;
      prefillTokens += take;
      prefilling++;
      if (s.prefillLeft === 0) prefilled.push(s);
    };
    for (const s of this.running) {
      if (budget <= 0) break;
      if (s.prefillLeft > 0) prefill(s);
      else {
        decodingSeqs.push(s);
        contextTokens += s.spec.promptTokens + s.generated;
        budget--;
      }
    }
    while (budget > 0 && this.waiting.length > 0 && this.running.length < this.opts.maxNumSeqs) {
      const s = this.waiting.shift()!;
      this.running.push(s);
      prefill(s);
    }

    const shape: StepShape = { decoding: decodingSeqs.length, contextTokens, prefillTokens, prefilling };
    const durationMs = policy.costMs(shape);
    const events: TokenEvent[] = [];
    for (const s of decodingSeqs) events.push(this.emit(s));
    for (const s of prefilled) {
      this.remember(s.spec);
      events.push(this.emit(s));
    }
    return { durationMs, shape, events };
  }

  private remember(spec: SequenceSpec): void {
    const limit = this.opts.prefixCacheTokens ?? DEFAULT_PREFIX_CACHE_TOKENS;
    if (spec.promptKey === undefined || limit <= 0 || this.cache.has(spec.promptKey)) return;
    this.cache.set(spec.promptKey, spec.promptTokens);
    this.cachedTokens += spec.promptTokens;
    for (const [key, tokens] of this.cache) {
      if (this.cachedTokens <= limit) break;
      this.cache.delete(key);
      this.cachedTokens -= tokens;
    }
  }

  private emit(s: Sequence): TokenEvent {
    s.generated++;
    let finishReason: FinishReason | null = null;
    if (s.generated >= s.spec.maxTokens) finishReason = 'length';
    else if (s.generated >= s.spec.eosAfter) finishReason = 'stop';
    if (finishReason) this.running.splice(this.running.indexOf(s), 1);
    return { id: s.id, index: s.generated, finishReason };
  }
}
