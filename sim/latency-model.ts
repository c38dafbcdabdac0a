/**
 * How long a step of the simulated vLLM engine takes on a Jetson AGX Thor, calibrated on the guide's measurements.
 *
 * Model (per step of sim/batch-engine.ts):
 *   cost = stepBaseMs
 *        + decodePerSeqMs · n^batchExponent · (1 − w + w · meanContext / 2112)    when n sequences decode
 *        + prefillMsPerToken · promptTokensInThisStep
 * with w = CONTEXT_WEIGHT. While sequences decode, a step carries at most `prefillChunkTokens` prompt tokens, so
 * a new request under load waits several steps for its first token (the guide's high-load TTFT is 20-30 × its
 * TPOT) without stalling the running batch much; with nothing decoding, a whole prompt is one step (low-load TTFT).
 *
 * The constants in QUANT_PARAMS and FP8_POWER_FIT are the output of sim/latency-calibration.ts, which fits them
 * so that a simulated `vllm bench serve` run (2048 in / 128 out; 10 prompts at concurrency 1 and 100 prompts at
 * concurrency 8) reproduces the guide's mean TTFT and TPOT per quantization (MAXN + jetson_clocks) and, for FP8,
 * per power mode and clocks. Re-run it (`node dist/sim/latency-calibration.js`) after changing the model.
 *
 * Pure: no clock, no I/O. test/sim-latency-model.test.ts checks the predictions against the fixtures.
 */
import type { Quantization } from '../schema/experiment.js';
import { BatchEngine, DEFAULT_MAX_NUM_BATCHED_TOKENS, DEFAULT_MAX_NUM_SEQS, type StepPolicy, type StepShape } from './batch-engine.js';
import { jitterSource } from './prng.js';
import { requirePowerMode } from './thor-power-modes.js';

export interface LatencyParams {
  /** Fixed cost of a step (ms). */
  stepBaseMs: number;
  /** Decode cost of one sequence at the calibration context (ms). */
  decodePerSeqMs: number;
  /** How decode cost grows with batch size n (n^batchExponent); 1 = linear. */
  batchExponent: number;
  /** Prefill cost per prompt token (ms). */
  prefillMsPerToken: number;
  /** Prompt tokens a step carries while other sequences decode. */
  prefillChunkTokens: number;
}

/** Mean context (prompt + generated) of the calibration runs: 2048-token prompts, 128 generated. */
export const CALIBRATION_CONTEXT = 2112;
/** Share of the decode cost that grows with context length (attention over the KV cache). */
export const CONTEXT_WEIGHT = 0.5;

/** The cost of a step of the given shape (ms), before jitter. */
export function stepCostMs(p: LatencyParams, shape: StepShape): number {
  let cost = p.stepBaseMs + shape.prefillTokens * p.prefillMsPerToken;
  if (shape.decoding > 0) {
    const meanContext = shape.contextTokens / shape.decoding;
    cost += p.decodePerSeqMs * Math.pow(shape.decoding, p.batchExponent) * (1 - CONTEXT_WEIGHT + (CONTEXT_WEIGHT * meanContext) / CALIBRATION_CONTEXT);
  }
  return cost;
}

/**
 * Qwen3-8B per quantization at MAXN with clocks locked (fitted by sim/latency-calibration.ts). fp16 is served
 * like bf16 (same bytes per weight).
 */
export const QUANT_PARAMS: Record<Quantization, LatencyParams> = {
  bf16: { stepBaseMs: 60.359, decodePerSeqMs: 3.271, batchExponent: 1, prefillMsPerToken: 0.0087065, prefillChunkTokens: 225 },
  fp16: { stepBaseMs: 60.359, decodePerSeqMs: 3.271, batchExponent: 1, prefillMsPerToken: 0.0087065, prefillChunkTokens: 225 },
  fp8: { stepBaseMs: 6.642, decodePerSeqMs: 2.238, batchExponent: 1, prefillMsPerToken: 0.0080166, prefillChunkTokens: 112 },
  fp4: { stepBaseMs: 22.068, decodePerSeqMs: 2.6623, batchExponent: 1, prefillMsPerToken: 0.008048, prefillChunkTokens: 185 },
  'gptq-int4': { stepBaseMs: 15.683, decodePerSeqMs: 7.4068, batchExponent: 1, prefillMsPerToken: 0.010345, prefillChunkTokens: 105 },
  'gptq-int8': { stepBaseMs: 28.941, decodePerSeqMs: 7.8094, batchExponent: 1, prefillMsPerToken: 0.010688, prefillChunkTokens: 107 },
  awq: { stepBaseMs: 16.098, decodePerSeqMs: 7.2323, batchExponent: 1, prefillMsPerToken: 0.010182, prefillChunkTokens: 106 },
  w4a16: { stepBaseMs: 16.088, decodePerSeqMs: 7.2121, batchExponent: 1, prefillMsPerToken: 0.010626, prefillChunkTokens: 102 },
  w8a16: { stepBaseMs: 28.631, decodePerSeqMs: 7.5892, batchExponent: 1, prefillMsPerToken: 0.010546, prefillChunkTokens: 106 },
  // GGUF (Q5_K_M) batches badly in vLLM: decode cost grows about with the square of the batch.
  gguf: { stepBaseMs: 9.7098, decodePerSeqMs: 23.7, batchExponent: 2.0187, prefillMsPerToken: 0.067783, prefillChunkTokens: 83 },
};

/** The power/clocks settings the guide measured (FP8 only), as the calibration fitted them. */
export const FP8_POWER_FIT: Record<'MAXN' | 'MAXN-clocks' | '120W' | '120W-clocks', LatencyParams> = {
  'MAXN-clocks': QUANT_PARAMS.fp8,
  MAXN: { stepBaseMs: 13.829, decodePerSeqMs: 1.731, batchExponent: 1, prefillMsPerToken: 0.010679, prefillChunkTokens: 120 },
  '120W-clocks': { stepBaseMs: 9.9178, decodePerSeqMs: 2.4722, batchExponent: 1, prefillMsPerToken: 0.0084532, prefillChunkTokens: 149 },
  '120W': { stepBaseMs: 13.437, decodePerSeqMs: 2.0634, batchExponent: 1, prefillMsPerToken: 0.010304, prefillChunkTokens: 122 },
};

/** Multipliers applied to a quantization's MAXN+clocks parameters for another power mode / clocks setting. */
export interface PowerScaling {
  stepBase: number;
  decodePerSeq: number;
  prefill: number;
  chunk: number;
}

function ratio(key: keyof typeof FP8_POWER_FIT): PowerScaling {
  const p = FP8_POWER_FIT[key];
  const ref = FP8_POWER_FIT['MAXN-clocks'];
  return {
    stepBase: p.stepBaseMs / ref.stepBaseMs,
    decodePerSeq: p.decodePerSeqMs / ref.decodePerSeqMs,
    prefill: p.prefillMsPerToken / ref.prefillMsPerToken,
    chunk: p.prefillChunkTokens / ref.prefillChunkTokens,
  };
}

/**
 * Scaling for a power mode and clocks setting. MAXN and 120W come from the guide's FP8 measurements and are applied
 * to every quantization alike. The guide has no 90W/70W numbers: those extrapolate from 120W by the ratio of the
 * power budgets (time ∝ (120 W / budget)^0.8), a guess that only keeps the ordering plausible.
 */
export function powerScaling(powerModeId: number, clocksLocked: boolean): PowerScaling {
  const mode = requirePowerMode(powerModeId);
  const suffix = clocksLocked ? '-clocks' : '';
  if (mode.name === 'MAXN' || mode.name === '120W') return ratio(`${mode.name}${suffix}` as keyof typeof FP8_POWER_FIT);
  const base = ratio(`120W${suffix}` as keyof typeof FP8_POWER_FIT);
  const slower = Math.pow(120 / mode.budgetW, 0.8);
  return { stepBase: base.stepBase * slower, decodePerSeq: base.decodePerSeq * slower, prefill: base.prefill * slower, chunk: base.chunk };
}

/** Size of the served model relative to the calibration model (Qwen3-8B), from its path. */
export interface ModelScale {
  /** Total parameters, billions (8 when the path does not say). */
  totalB: number;
  /** Parameters active per token, billions (MoE "A3B"), else totalB. */
  activeB: number;
  /** Multiplier on the fixed step cost (streaming the weights). */
  stepBase: number;
  /** Multiplier on the per-sequence decode cost. */
  decodePerSeq: number;
  /** Multiplier on prefill cost per token. */
  prefill: number;
  /** Multiplier on the prefill chunk size. */
  chunk: number;
}

/**
 * Reads "8B" / "30B-A3B" from a model path such as /models/Qwen/Qwen3-Coder-30B-A3B-Instruct. Dense models scale
 * with their size. For MoE models the exponents come from the guide's one MoE measurement (Qwen3-Coder-30B-A3B
 * W4A16 against Qwen3-8B W4A16): the fixed step cost follows the active parameters, the per-sequence cost barely
 * shrinks (expert routing), and prefill is slower than the 8B model's (vLLM has no tuned MoE kernel config for Thor
 * and runs a default one) but comes in slightly larger chunks. High-load TTFT is sensitive to the chunk size
 * (the guide's runs sit where prefill becomes the bottleneck), so treat numbers for other sizes as rough.
 */
export function modelScaleFromPath(modelPath: string): ModelScale {
  const base = modelPath.split('/').filter(Boolean).pop() ?? '';
  const m = /(?:^|[-_])(\d+(?:\.\d+)?)B(?:[-_]A(\d+(?:\.\d+)?)B)?(?=$|[-_.])/i.exec(base);
  const totalB = m?.[1] ? Number(m[1]) : 8;
  const activeB = m?.[2] ? Number(m[2]) : totalB;
  if (activeB < totalB) {
    return { totalB, activeB, stepBase: Math.pow(activeB / 8, 0.6), decodePerSeq: Math.pow(activeB / 8, 0.15), prefill: Math.pow(totalB / 8, 0.3), chunk: 1.07 };
  }
  return { totalB, activeB, stepBase: totalB / 8, decodePerSeq: Math.pow(totalB / 8, 0.7), prefill: totalB / 8, chunk: 1 };
}

export interface LatencyInputs {
  quantization: Quantization;
  powerModeId: number;
  clocksLocked: boolean;
  /** Model path as given to `vllm serve` (for the size heuristic); omitted = an 8B model. */
  modelPath?: string;
}

/** The step-cost parameters for one engine on one device setting. */
export function latencyParams(inputs: LatencyInputs): LatencyParams {
  const q = QUANT_PARAMS[inputs.quantization];
  const s = powerScaling(inputs.powerModeId, inputs.clocksLocked);
  const size = inputs.modelPath ? modelScaleFromPath(inputs.modelPath) : { stepBase: 1, decodePerSeq: 1, prefill: 1, chunk: 1 };
  return {
    stepBaseMs: q.stepBaseMs * s.stepBase * size.stepBase,
    decodePerSeqMs: q.decodePerSeqMs * s.decodePerSeq * size.decodePerSeq,
    batchExponent: q.batchExponent,
    prefillMsPerToken: q.prefillMsPerToken * s.prefill * size.prefill,
    prefillChunkTokens: Math.max(1, Math.round(q.prefillChunkTokens * s.chunk * size.chunk)),
  };
}

/** A step policy for BatchEngine from parameters, with optional multiplicative jitter per step. */
export function stepPolicy(p: LatencyParams, jitter: () => number = () => 1): StepPolicy {
  return { prefillChunkTokens: p.prefillChunkTokens, costMs: (shape) => stepCostMs(p, shape) * jitter() };
}

/** A `vllm bench serve` run in the guide's shape: random prompts of fixed length, ignore_eos, request rate inf. */
export interface BenchScenario {
  inputLen: number;
  outputLen: number;
  numPrompts: number;
  /** Omitted = all requests at once. */
  maxConcurrency?: number;
}

export interface ScenarioPrediction {
  meanTtftMs: number;
  meanTpotMs: number;
  /** Benchmark duration, seconds. */
  durationS: number;
  outputThroughput: number;
}

export interface PredictOptions {
  /** Relative per-step jitter (0.03 ≈ ±3 %); 0 for exact. */
  jitter?: number;
  seed?: number;
}

/**
 * Runs the benchmark client against the batching engine on a virtual clock and computes vLLM's mean TTFT and
 * TPOT. The same engine and cost model as the live server, minus HTTP and timers.
 */
export function predictScenario(params: LatencyParams, scenario: BenchScenario, opts: PredictOptions = {}): ScenarioPrediction {
  const engine = new BatchEngine({ maxNumSeqs: DEFAULT_MAX_NUM_SEQS, maxNumBatchedTokens: DEFAULT_MAX_NUM_BATCHED_TOKENS });
  const policy = stepPolicy(params, jitterSource(opts.seed ?? 1, opts.jitter ?? 0));
  const concurrency = scenario.maxConcurrency ?? scenario.numPrompts;
  const sentAt = new Map<number, number>();
  const firstAt = new Map<number, number>();
  const ttfts: number[] = [];
  const tpots: number[] = [];
  let now = 0;
  let sent = 0;
  const dispatch = (): void => {
    while (sent < scenario.numPrompts && engine.inFlight < concurrency) {
      const id = engine.add({ promptTokens: scenario.inputLen, maxTokens: scenario.outputLen, eosAfter: Infinity });
      sentAt.set(id, now);
      sent++;
    }
  };
  dispatch();
  while (!engine.idle) {
    const step = engine.step(policy);
    now += step.durationMs;
    for (const ev of step.events) {
      if (ev.index === 1) {
        firstAt.set(ev.id, now);
        ttfts.push(now - sentAt.get(ev.id)!);
      }
      if (ev.finishReason && ev.index > 1) tpots.push((now - firstAt.get(ev.id)!) / (ev.index - 1));
    }
    dispatch();
  }
  const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  return {
    meanTtftMs: mean(ttfts),
    meanTpotMs: mean(tpots),
    durationS: now / 1000,
    outputThroughput: (scenario.numPrompts * scenario.outputLen) / (now / 1000),
  };
}
