/**
 * A `vllm bench serve` run against the simulated engine in virtual time: the same scheduler (sim/batch-engine.ts)
 * and step costs (sim/latency-model.ts) as the live engine (sim/live-engine.ts), driven by a discrete-event loop
 * instead of timers, so a run that takes 27 minutes on a Thor takes milliseconds here. The client side follows
 * vLLM's: every request scheduled by the arrival schedule (all at t = 0 for request rate inf), at most
 * `maxConcurrency` in flight, the next one sent the moment one finishes. Each request's token times become a
 * RequestRecord, and metrics/calculate.ts turns them into vLLM's metrics.
 *
 * Pure and deterministic for a seed: no clock, no I/O.
 */
import { promptTokens } from '../activities/harness/prompts.js';
import type { LoadShape } from '../activities/harness/load-shape.js';
import { arrivalSchedule } from '../activities/harness/schedule.js';
import { type CalculatedMetrics, calculateMetrics } from '../metrics/calculate.js';
import type { RequestRecord } from '../metrics/request-record.js';
import {
  BatchEngine,
  DEFAULT_MAX_NUM_BATCHED_TOKENS,
  DEFAULT_MAX_NUM_SEQS,
  type SequenceSpec,
} from './batch-engine.js';
import { naturalLength, promptSeed } from './generated-text.js';
import { type LatencyParams, stepPolicy } from './latency-model.js';
import { hashString, jitterSource } from './prng.js';

/** One benchmark as `vllm bench serve --dataset-name random` runs it. */
export interface VirtualScenario extends LoadShape {
  /** With ignore_eos every request generates outputLen tokens; without, some stop early at their EOS. */
  ignoreEos?: boolean;
  /**
   * Tokens the model generated in the whole run, when known (a recorded run without ignore_eos): the simulator
   * has no model text, so instead of its own EOS draw it stops requests early, spread evenly over the run, until
   * the total matches. The timing of those tokens is still the simulator's.
   */
  generatedTokens?: number;
  /**
   * Length of each prompt in tokens, in request order, when known: vLLM's random dataset decodes random token ids
   * to text and re-encodes it, which shortens some prompts (the guide's 2048-token prompts: most 2048, a few down
   * to 1891; fixtures/vllm-bench-text/prompt-lengths.json). Omitted = every prompt inputLen tokens long.
   */
  inputLens?: readonly number[];
  /**
   * Seeds of runs served earlier by the same engine with the same prompt length: their prompts are in the prefix
   * cache (the guide ran the high-load benchmark, then the low-load one, with vLLM's default seed).
   */
  warmedBy?: { numPrompts: number; seed?: number }[];
  /**
   * vllm bench serve first sends the run's first prompt once, untimed, to check the server ("initial single prompt
   * test run"), which leaves that prompt in the prefix cache. Default true; false for a client that does not.
   */
  testPrompt?: boolean;
}

export interface EngineSettings {
  maxNumSeqs?: number;
  maxNumBatchedTokens?: number;
  prefixCacheTokens?: number;
}

export interface VirtualRunOptions {
  /** Relative per-step jitter (0.03 ≈ ±3 %), as the live engine draws it; 0 = none. */
  jitter?: number;
  /** Seed of the jitter. */
  jitterSeed?: number;
  engine?: EngineSettings;
}

export interface VirtualRunResult {
  records: RequestRecord[];
  durationS: number;
  metrics: CalculatedMetrics;
}

/** The prefix-cache identity of prompt `index` of a run with `seed` and prompt length (what the engine hashes). */
export function promptKey(seed: number, index: number, inputLen: number): number {
  return hashString(`${seed}:${index}:${inputLen}`);
}

/**
 * Where each request stops on its own: nowhere with ignore_eos; to match `generatedTokens` when given; else the
 * same EOS draw as the live engine's (sim/generated-text.ts).
 *
 * To match a recorded total, as few requests as possible stop early, spread evenly over the run: all after their
 * first token but the first of them, which takes what remains. That is how the guide's runs without ignore_eos stop:
 * 12 419 of 12 800 tokens is 12 800 − 3 × 127, three requests answered with one token (end of sequence), and the
 * GPTQ-Int4 run's p99 TPOT (77 ms) rules out several requests ending after a few tokens. Which requests stopped is
 * not recorded; it matters for the timing, since a request that ends early frees its slot out of turn and changes
 * how the queue of prompts behind it lines up (test/sim-fidelity.test.ts names the blocks where that shows).
 */
export function eosPositions(scenario: VirtualScenario): number[] {
  const n = scenario.numPrompts;
  if (scenario.ignoreEos ?? false) return new Array<number>(n).fill(Infinity);
  if (scenario.generatedTokens === undefined) {
    // The live engine draws each EOS from the prompt it receives: the load generator's prompt i, as token ids.
    return Array.from({ length: n }, (_, i) =>
      naturalLength(promptSeed(promptTokens(scenario.seed ?? 0, i, scenario.inputLen))),
    );
  }
  const out = new Array<number>(n).fill(Infinity);
  let missing = n * scenario.outputLen - scenario.generatedTokens;
  if (missing <= 0) return out;
  const most = scenario.outputLen - 1;
  if (missing > n * most)
    throw new RangeError(`cannot generate only ${scenario.generatedTokens} tokens in ${n} requests`);
  const stoppers = Math.ceil(missing / Math.max(1, most));
  for (let k = 0; k < stoppers; k++) {
    const lose = k === 0 ? missing - most * (stoppers - 1) : most;
    out[Math.floor(((k + 0.5) * n) / stoppers)] = scenario.outputLen - lose;
    missing -= lose;
  }
  return out;
}

/** Prompt length of each request: inputLens when given, else inputLen. */
export function promptLengths(scenario: VirtualScenario): number[] {
  const known = scenario.inputLens;
  if (known && known.length < scenario.numPrompts)
    throw new RangeError(`${known.length} prompt lengths for ${scenario.numPrompts} prompts`);
  return Array.from({ length: scenario.numPrompts }, (_, i) => known?.[i] ?? scenario.inputLen);
}

interface Pending {
  index: number;
  sentMs: number;
  firstMs?: number;
  lastMs?: number;
  itlMs: number[];
  tokens: number;
}

/** Runs the scenario on a virtual clock. */
export function runVirtual(
  params: LatencyParams,
  scenario: VirtualScenario,
  opts: VirtualRunOptions = {},
): VirtualRunResult {
  const engine = new BatchEngine({
    maxNumSeqs: opts.engine?.maxNumSeqs ?? DEFAULT_MAX_NUM_SEQS,
    maxNumBatchedTokens: opts.engine?.maxNumBatchedTokens ?? DEFAULT_MAX_NUM_BATCHED_TOKENS,
    prefixCacheTokens: opts.engine?.prefixCacheTokens,
  });
  const policy = stepPolicy(params, jitterSource(opts.jitterSeed ?? 1, opts.jitter ?? 0));
  const frontEndMs = params.frontEndMs;
  const seed = scenario.seed ?? 0;
  const eos = eosPositions(scenario);
  const lengths = promptLengths(scenario);
  const spec = (index: number, s: number): SequenceSpec => ({
    promptTokens: lengths[index] ?? scenario.inputLen,
    maxTokens: scenario.outputLen,
    eosAfter: eos[index] ?? Infinity,
    promptKey: promptKey(s, index, scenario.inputLen),
  });
  // Earlier runs and the test prompt only fill the prefix cache: run them through the engine untimed.
  const untimed = [...(scenario.warmedBy ?? []), ...((scenario.testPrompt ?? true) ? [{ numPrompts: 1, seed }] : [])];
  for (const w of untimed) {
    for (let i = 0; i < w.numPrompts; i++) engine.add({ ...spec(i, w.seed ?? 0), maxTokens: 1 });
    while (!engine.idle) engine.step(policy);
  }

  const schedule = arrivalSchedule({
    numPrompts: scenario.numPrompts,
    requestRate: scenario.requestRate,
    burstiness: scenario.burstiness,
    seed,
  }).map((s) => s * 1000);
  const limit = scenario.maxConcurrency ?? Infinity;
  const byId = new Map<number, Pending>();
  const done: Pending[] = [];
  /** Requests sent but not yet in the engine (the API server's front end), by the time they reach it. */
  const inFrontEnd: { atMs: number; index: number; pending: Pending }[] = [];
  let next = 0;
  let inFlight = 0;
  let now = 0;
  /** When each finished request freed its concurrency slot (vLLM's semaphore hands slots out in that order). */
  const freedAt: number[] = new Array<number>(Math.min(limit, scenario.numPrompts)).fill(0);

  const send = (): void => {
    while (next < scenario.numPrompts && inFlight < limit && schedule[next]! <= now) {
      const sentMs = Math.max(schedule[next]!, freedAt.shift()!);
      const pending: Pending = { index: next, sentMs, itlMs: [], tokens: 0 };
      inFrontEnd.push({ atMs: pending.sentMs + frontEndMs, index: next, pending });
      next++;
      inFlight++;
    }
  };
  /** Requests that reached the engine by this time are scheduled at the next step. */
  let visibleBy = 0;
  /** When the last step ended. */
  let busyUntil = 0;
  const admit = (): void => {
    inFrontEnd.sort((a, b) => a.atMs - b.atMs);
    while (inFrontEnd.length > 0 && inFrontEnd[0]!.atMs <= visibleBy) {
      // An idle engine starts a step the moment a request reaches it (sim/live-engine.ts), as vLLM's engine core
      // wakes for the first request in its queue: requests reaching it after that, even at the same instant (the
      // API server hands them over one by one), wait for the next step.
      if (!engine.idle && inFrontEnd[0]!.atMs > busyUntil) break;
      const { index, pending } = inFrontEnd.shift()!;
      byId.set(engine.add(spec(index, seed)), pending);
    }
  };

  send();
  while (done.length < scenario.numPrompts) {
    admit();
    if (engine.idle) {
      // Nothing to compute: jump to the next arrival at the engine or the next scheduled send.
      const candidates = [...inFrontEnd.map((f) => f.atMs)];
      if (next < scenario.numPrompts && inFlight < limit) candidates.push(schedule[next]!);
      if (candidates.length === 0) throw new Error('virtual run stalled: nothing in flight and nothing to send');
      now = Math.max(now, Math.min(...candidates));
      visibleBy = now;
      send();
      continue;
    }
    const step = engine.step(policy);
    now += step.durationMs;
    visibleBy = now;
    busyUntil = now;
    for (const ev of step.events) {
      const p = byId.get(ev.id)!;
      if (ev.index === 1) p.firstMs = now;
      else p.itlMs.push(now - p.lastMs!);
      p.lastMs = now;
      p.tokens = ev.index;
      if (ev.finishReason) {
        byId.delete(ev.id);
        done.push(p);
        inFlight--;
        freedAt.push(now);
      }
    }
    send();
  }

  const records: RequestRecord[] = done
    .sort((a, b) => a.index - b.index)
    .map((p) => ({
      success: true,
      error: null,
      promptLen: lengths[p.index]!,
      outputTokens: p.tokens,
      ttftS: (p.firstMs! - p.sentMs) / 1000,
      itlS: p.itlMs.map((x) => x / 1000),
      latencyS: (p.lastMs! - p.sentMs) / 1000,
      startS: p.sentMs / 1000,
    }));
  const durationS = (Math.max(...done.map((p) => p.lastMs!)) - Math.min(...done.map((p) => p.sentMs))) / 1000;
  const metrics = calculateMetrics(records, {
    durationS,
    maxConcurrency: scenario.maxConcurrency,
    requestRate: scenario.requestRate,
  });
  return { records, durationS, metrics };
}
