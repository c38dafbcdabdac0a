/**
 * Runs the scheduler (sim/batch-engine.ts) in real time for the engine server: a request reaches the scheduler
 * after the API server's front-end time, each step is built, then the server waits the step's modelled duration
 * (divided by the device speed) before delivering its tokens. sim/virtual-run.ts runs the same scheduler and costs
 * on a virtual clock; test/sim-fidelity.test.ts checks that both give the same metrics.
 *
 * Steps are scheduled on an absolute timeline so timer overshoot does not accumulate into slower TPOT; a backlog of
 * more than 50 ms (a stalled event loop) is dropped instead of being replayed as a burst. The step parameters are
 * asked for at every step, so a power-mode or clocks change takes effect mid-run, as on the real device.
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
  /** Tokens of prompts the prefix cache remembers (BatchEngine's default when absent); 0 disables it. */
  prefixCacheTokens?: number;
  /** Timers (default: Node's); a test drives the engine on a simulated clock through these. */
  timers?: Timers;
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const NODE_TIMERS: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export type TokenListener = (index: number, finishReason: FinishReason | null) => void;

const MAX_BACKLOG_MS = 50;

interface Submitted {
  listener: TokenListener;
  /** The scheduler's id once the request has reached it. */
  engineId?: number;
  /** Pending front-end timer before that. */
  timer?: unknown;
}

export class LiveEngine {
  private readonly engine: BatchEngine;
  private readonly requests = new Map<number, Submitted>();
  private readonly byEngineId = new Map<number, number>();
  private nextId = 1;
  private inFrontEnd = 0;
  private timer: unknown;
  private readonly timers: Timers;
  private stepEnd = 0;
  /** Counters for the periodic stats log. */
  promptTokens = 0;
  generatedTokens = 0;

  constructor(private readonly deps: LiveEngineDeps) {
    this.engine = new BatchEngine({
      maxNumSeqs: deps.maxNumSeqs,
      maxNumBatchedTokens: deps.maxNumBatchedTokens,
      prefixCacheTokens: deps.prefixCacheTokens,
    });
    this.timers = deps.timers ?? NODE_TIMERS;
  }

  get inFlight(): number {
    return this.engine.inFlight + this.inFrontEnd;
  }

  get running(): number {
    return this.engine.decoding;
  }

  get waiting(): number {
    return this.engine.prefilling + this.inFrontEnd;
  }

  /**
   * Queues a request. `arrivedAt` (deps.now() clock) is when the request started arriving: it reaches the
   * scheduler the front-end time after that, and an idle engine starts its first step from then, so reading and
   * tokenizing the prompt count toward TTFT as they do in the real server.
   */
  submit(spec: SequenceSpec, listener: TokenListener, arrivedAt = this.deps.now()): number {
    const id = this.nextId++;
    const entry: Submitted = { listener };
    this.requests.set(id, entry);
    this.promptTokens += spec.promptTokens;
    const readyAt = arrivedAt + this.deps.params().frontEndMs / this.deps.speed();
    const reach = (): void => {
      entry.timer = undefined;
      this.inFrontEnd--;
      if (!this.requests.has(id)) return;
      entry.engineId = this.engine.add(spec);
      this.byEngineId.set(entry.engineId, id);
      this.deps.onActivity(this.inFlight);
      if (!this.timer) {
        this.stepEnd = Math.max(this.stepEnd, Math.min(readyAt, this.deps.now()));
        this.scheduleStep();
      }
    };
    this.inFrontEnd++;
    this.deps.onActivity(this.inFlight);
    const wait = readyAt - this.deps.now();
    if (wait > 0) entry.timer = this.timers.setTimeout(reach, wait);
    else reach();
    return id;
  }

  cancel(id: number): void {
    const entry = this.requests.get(id);
    if (!entry) return;
    this.requests.delete(id);
    if (entry.timer) {
      this.timers.clearTimeout(entry.timer);
      this.inFrontEnd--;
    }
    if (entry.engineId !== undefined) {
      this.byEngineId.delete(entry.engineId);
      this.engine.cancel(entry.engineId);
    }
    this.deps.onActivity(this.inFlight);
  }

  /** Stops stepping (shutdown); pending requests get no more tokens. */
  stop(): void {
    if (this.timer) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    for (const entry of this.requests.values()) if (entry.timer) this.timers.clearTimeout(entry.timer);
  }

  private scheduleStep(): void {
    const step = this.engine.step(stepPolicy(this.deps.params(), () => this.deps.jitter()));
    const now = this.deps.now();
    this.stepEnd += step.durationMs / this.deps.speed();
    if (this.stepEnd < now - MAX_BACKLOG_MS) this.stepEnd = now;
    this.timer = this.timers.setTimeout(
      () => {
        this.timer = undefined;
        for (const ev of step.events) {
          const id = this.byEngineId.get(ev.id);
          const entry = id === undefined ? undefined : this.requests.get(id);
          if (!entry) continue;
          this.generatedTokens++;
          if (ev.finishReason) {
            this.requests.delete(id!);
            this.byEngineId.delete(ev.id);
          }
          entry.listener(ev.index, ev.finishReason);
        }
        this.deps.onActivity(this.inFlight);
        if (!this.engine.idle && !this.timer) this.scheduleStep();
      },
      Math.max(0, this.stepEnd - now),
    );
  }
}
