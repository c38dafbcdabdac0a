/**
 * The continuous-batching core of the simulated vLLM engine, with no clock of its own.
 *
 * vLLM runs the model in steps: every step each decoding sequence gets one token, and prompt tokens of new
 * requests are processed ("prefilled") alongside, which delays that step. This class keeps the queue and the
 * running batch and, per step, decides what the step contains and what it emits. The caller supplies the cost of
 * a step (sim/latency-model.ts) and decides what time means: the prediction in latency-model.ts advances a
 * virtual clock, the engine server (sim/engine-server.ts) sleeps in real time. Both therefore behave the same.
 *
 * Simplifications, on purpose: no KV-cache capacity limit or preemption (the guide's scenarios never hit it on a
 * 128 GB Thor), FIFO admission, one token per sequence per step (no speculative decoding).
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
}

/** What a step looks like to the cost model. */
export interface StepShape {
  /** Sequences that get a token from this step's decode. */
  decoding: number;
  /** Sum of the context lengths (prompt + generated) of the decoding sequences. */
  contextTokens: number;
  /** Prompt tokens processed in this step. */
  prefillTokens: number;
}

/** How steps are built and what they cost, possibly different at every step (power mode and clocks change). */
export interface StepPolicy {
  /** Prompt tokens a step may carry while other sequences are decoding (chunked prefill). */
  prefillChunkTokens: number;
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
  /** Prompt tokens not yet prefilled. */
  prefillLeft: number;
  generated: number;
}

export interface BatchEngineOptions {
  /** vLLM --max-num-seqs: sequences in the running batch at once. */
  maxNumSeqs: number;
  /** vLLM --max-num-batched-tokens: prompt tokens a step may carry when nothing is decoding. */
  maxNumBatchedTokens: number;
}

/** Default token budget of a step: vLLM V1's default for the API server on devices with ≥ 70 GiB (Thor has 128 GB). */
export const DEFAULT_MAX_NUM_BATCHED_TOKENS = 8192;
/** vLLM's default --max-num-seqs. */
export const DEFAULT_MAX_NUM_SEQS = 256;

export class BatchEngine {
  private readonly waiting: Sequence[] = [];
  private readonly running: Sequence[] = [];
  private nextId = 1;

  constructor(private readonly opts: BatchEngineOptions) {}

  /** Queues a request; returns its id. */
  add(spec: SequenceSpec): number {
    if (!(spec.promptTokens >= 1) || !(spec.maxTokens >= 1)) throw new Error(`BatchEngine.add: promptTokens and maxTokens must be ≥ 1 (got ${spec.promptTokens}, ${spec.maxTokens})`);
    const id = this.nextId++;
    this.waiting.push({ id, spec, prefillLeft: spec.promptTokens, generated: 0 });
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

  /** Requests in flight: waiting for or in prefill, or decoding. */
  get inFlight(): number {
    return this.waiting.length + this.running.length;
  }

  /** Requests whose prompt is not fully processed yet. */
  get prefilling(): number {
    return this.waiting.length;
  }

  /** Requests generating tokens. */
  get decoding(): number {
    return this.running.length;
  }

  get idle(): boolean {
    return this.inFlight === 0;
  }

  /**
   * Builds and applies one step: decodes one token for every running sequence, then spends the step's prompt-token
   * budget on waiting requests in arrival order (a request whose prompt completes emits its first token). Returns
   * the step's cost and the tokens it produced. Call only when not idle.
   */
  step(policy: StepPolicy): StepResult {
    const decodingSeqs = this.running.slice();
    let contextTokens = 0;
    for (const s of decodingSeqs) contextTokens += s.spec.promptTokens + s.generated;

    // Chunked prefill: with nothing decoding the step may carry the full token budget; otherwise the chunk size.
    let budget = decodingSeqs.length === 0 ? this.opts.maxNumBatchedTokens : Math.max(1, Math.round(policy.prefillChunkTokens));
    let prefillTokens = 0;
    const prefilled: Sequence[] = [];
    let slots = this.opts.maxNumSeqs - decodingSeqs.length;
    for (const s of this.waiting) {
      if (budget <= 0 || slots <= 0) break;
      const take = Math.min(budget, s.prefillLeft);
      s.prefillLeft -= take;
      budget -= take;
      prefillTokens += take;
      slots--;
      if (s.prefillLeft === 0) prefilled.push(s);
    }

    const shape: StepShape = { decoding: decodingSeqs.length, contextTokens, prefillTokens };
    const durationMs = policy.costMs(shape);
    const events: TokenEvent[] = [];

    for (const s of decodingSeqs) events.push(this.emit(s));
    for (const s of prefilled) {
      this.waiting.splice(this.waiting.indexOf(s), 1);
      this.running.push(s);
      events.push(this.emit(s));
    }
    return { durationMs, shape, events };
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
