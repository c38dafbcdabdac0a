/**
 * Runs the batching core (sim/batch-engine.ts) in real time for the engine server: each step is built, then the
 * server waits the step's modelled duration (divided by the device speed) before delivering its tokens. Steps are
 * scheduled on an absolute timeline so timer overshoot does not accumulate into slower TPOT; a backlog of more than
 * 50 ms (a stalled event loop) is dropped instead of being replayed as a burst. The step parameters are asked for
 * at every step, so a power-mode or clocks change takes effect mid-run, as on the real device.
 */
import { BatchEngine, type FinishReason, type SequenceSpec } from './batch-engine.js';
import { type LatencyParams, stepPolicy } from './latency-model.js';

export interface LiveEngineDeps {
  /** Step parameters for the device as it is now. */
  params(): LatencyParams;
  /** Time compression (≥ some small positive number). */
  speed(): number;
  /** Multiplicative per-step jitter. */
  jitter(): number;
  /** Milliseconds, monotonic. */
  now(): number;
  /** Called when the number of requests in flight may have changed. */
  onActivity(inFlight: number): void;
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
}

export type TokenListener = (index: number, finishReason: FinishReason | null) => void;

const MAX_BACKLOG_MS = 50;

export class LiveEngine {
  private readonly engine: BatchEngine;
  private readonly listeners = new Map<number, TokenListener>();
  private timer: NodeJS.Timeout | undefined;
  private stepEnd = 0;
  /** Counters for the periodic stats log. */
  promptTokens = 0;
  generatedTokens = 0;

  constructor(private readonly deps: LiveEngineDeps) {
    this.engine = new BatchEngine({ maxNumSeqs: deps.maxNumSeqs, maxNumBatchedTokens: deps.maxNumBatchedTokens });
  }

  get inFlight(): number {
    return this.engine.inFlight;
  }

  get running(): number {
    return this.engine.decoding;
  }

  get waiting(): number {
    return this.engine.prefilling;
  }

  /**
   * Queues a request. `arrivedAt` (deps.now() clock) is when the request started arriving: an idle engine starts
   * its first step from then, so reading and parsing the request count as part of the prefill step, as they do
   * in the real server's measured TTFT.
   */
  submit(spec: SequenceSpec, listener: TokenListener, arrivedAt = this.deps.now()): number {
    const id = this.engine.add(spec);
    this.listeners.set(id, listener);
    this.promptTokens += spec.promptTokens;
    this.deps.onActivity(this.engine.inFlight);
    if (!this.timer) {
      this.stepEnd = Math.max(this.stepEnd, Math.min(arrivedAt, this.deps.now()));
      this.scheduleStep();
    }
    return id;
  }

  cancel(id: number): void {
    this.listeners.delete(id);
    if (this.engine.cancel(id)) this.deps.onActivity(this.engine.inFlight);
  }

  /** Stops stepping (shutdown); pending requests get no more tokens. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private scheduleStep(): void {
    const step = this.engine.step(stepPolicy(this.deps.params(), () => this.deps.jitter()));
    const now = this.deps.now();
    this.stepEnd += step.durationMs / this.deps.speed();
    if (this.stepEnd < now - MAX_BACKLOG_MS) this.stepEnd = now;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      for (const ev of step.events) {
        const listener = this.listeners.get(ev.id);
        if (!listener) continue;
        this.generatedTokens++;
        if (ev.finishReason) this.listeners.delete(ev.id);
        listener(ev.index, ev.finishReason);
      }
      this.deps.onActivity(this.engine.inFlight);
      if (!this.engine.idle && !this.timer) this.scheduleStep();
    }, Math.max(0, this.stepEnd - now));
  }
}
