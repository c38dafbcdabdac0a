/**
 * How long a step of the simulated vLLM engine takes on a Jetson AGX Thor, calibrated on the guide's measurements.
 *
 * Model (per step of the scheduler, sim/batch-engine.ts):
 *   cost = stepBaseMs
 *        + decodePerSeqMs · n^batchExponent · (1 − w + w · meanContext / 2112)    when n sequences decode
 *        + prefillMsPerToken · promptTokensInThisStep
 * with w = contextWeight, plus `frontEndMs` per request before it reaches the scheduler (the API server reading
 * and tokenizing the prompt). The scheduler decides what a step carries (every running sequence's next token, then
 * prompts up to the step's token budget), so one mechanism gives both the typical inter-token latency (a decode-only
 * step) and its tail (a step that also carries a 2048-token prompt stalls every running sequence), the TTFT under
 * load (waiting behind the prompts admitted before) and the means.
 *
 * The constants in CALIBRATED are the output of sim/latency-calibration.ts, which fits them so that virtual runs
 * (sim/virtual-run.ts) of the guide's benchmarks reproduce every metric of the guide's 43 result blocks
 * (sim/guide-blocks.ts): per engine image family, model size and quantization at MAXN with jetson_clocks, and for
 * FP8 per power mode and clocks. Re-run it (`node dist/sim/latency-calibration.js`) after changing the model.
 *
 * Pure: no clock, no I/O. test/sim-fidelity.test.ts checks every block.
 */
import type { Quantization } from '../schema/experiment.js';
import type { StepPolicy, StepShape } from './batch-engine.js';
import { type EngineFamily, engineFamily } from './guide-blocks.js';
import { requirePowerMode } from './thor-power-modes.js';

export interface LatencyParams {
  /** Fixed cost of a step (ms). */
  stepBaseMs: number;
  /** Decode cost of one sequence at the calibration context (ms). */
  decodePerSeqMs: number;
  /** How decode cost grows with batch size n (n^batchExponent); 1 = linear. */
  batchExponent: number;
  /** Share of the decode cost that grows with context length (attention over the KV cache), 0-1. */
  contextWeight: number;
  /** Prefill cost per prompt token computed in a step (ms). */
  prefillMsPerToken: number;
  /** The API server's share of every request's TTFT: reading and tokenizing the prompt, streaming back (ms). */
  frontEndMs: number;
  /**
   * Extra cost of a step with more tokens than vLLM captures CUDA graphs for (CUDA_GRAPH_MAX_TOKENS): such a step
   * runs eagerly, every kernel launched from the CPU (ms).
   */
  eagerStepMs: number;
}

/** Mean context (prompt + generated) of the calibration runs: 2048-token prompts, 128 generated. */
export const CALIBRATION_CONTEXT = 2112;

/** vLLM's largest CUDA-graph capture size (tokens in a step). */
export const CUDA_GRAPH_MAX_TOKENS = 512;

/** The cost of a step of the given shape (ms), before jitter. */
export function stepCostMs(p: LatencyParams, shape: StepShape): number {
  let cost = p.stepBaseMs + shape.prefillTokens * p.prefillMsPerToken;
  if (shape.prefillTokens + shape.decoding > CUDA_GRAPH_MAX_TOKENS) cost += p.eagerStepMs;
  if (shape.decoding > 0) {
    const meanContext = shape.contextTokens / shape.decoding;
    const context = 1 - p.contextWeight + (p.contextWeight * meanContext) / CALIBRATION_CONTEXT;
    cost += p.decodePerSeqMs * Math.pow(shape.decoding, p.batchExponent) * context;
  }
  return cost;
}

/** Key of a calibrated engine: `<family>|<size>|<quantization>`, e.g. `vllm-0.10|8B|fp8`. */
export function calibrationKey(family: EngineFamily, sizeTag: string, quantization: Quantization): string {
  return `${family}|${sizeTag}|${quantization === 'fp16' ? 'bf16' : quantization}`;
}

/**
 * Fitted by sim/latency-calibration.ts at MAXN with clocks locked (fp16 is served like bf16: same bytes per
 * weight). Engines not listed here are derived from the closest listed one (see latencyParams).
 */
export const CALIBRATED: Record<string, LatencyParams> = {
  'vllm-0.10|8B|fp8': {
    stepBaseMs: 6.8936,
    decodePerSeqMs: 1.983,
    prefillMsPerToken: 0.033779,
    frontEndMs: 16.061,
    batchExponent: 0.78999,
    eagerStepMs: 80.629,
    contextWeight: 0.74083,
  },
  'vllm-0.10|8B|awq': {
    stepBaseMs: 22.117,
    decodePerSeqMs: 1.2579,
    prefillMsPerToken: 0.29664,
    frontEndMs: 10.282,
    batchExponent: 0.83766,
    eagerStepMs: 159,
    contextWeight: 0.96932,
  },
  'vllm-0.10|8B|bf16': {
    stepBaseMs: 62.88,
    decodePerSeqMs: 0.97475,
    prefillMsPerToken: 0.10661,
    frontEndMs: 13.908,
    batchExponent: 1.2091,
    eagerStepMs: 45.64,
    contextWeight: 0.25501,
  },
  'vllm-0.10|8B|fp4': {
    stepBaseMs: 24.201,
    decodePerSeqMs: 0.58367,
    prefillMsPerToken: 0.077166,
    frontEndMs: 13.252,
    batchExponent: 1.2822,
    eagerStepMs: 55.319,
    contextWeight: 9.1366e-9,
  },
  'vllm-0.10|8B|gguf': {
    stepBaseMs: 26.177,
    decodePerSeqMs: 7.1472,
    prefillMsPerToken: 2.5105,
    frontEndMs: 82.586,
    batchExponent: 1.0609,
    eagerStepMs: 9831.9,
    contextWeight: 0.83577,
  },
  'vllm-0.10|8B|gptq-int4': {
    stepBaseMs: 22.683,
    decodePerSeqMs: 0.3937,
    prefillMsPerToken: 0.40311,
    frontEndMs: 7.6418,
    batchExponent: 0.20697,
    eagerStepMs: 32.586,
    contextWeight: 0.99884,
  },
  'vllm-0.10|8B|gptq-int8': {
    stepBaseMs: 35.361,
    decodePerSeqMs: 1.4577,
    prefillMsPerToken: 0.27431,
    frontEndMs: 11.28,
    batchExponent: 1.1448,
    eagerStepMs: 171.34,
    contextWeight: 0.5384,
  },
  'vllm-0.10|8B|w4a16': {
    stepBaseMs: 21.947,
    decodePerSeqMs: 1.4048,
    prefillMsPerToken: 0.28477,
    frontEndMs: 11.521,
    batchExponent: 0.98165,
    eagerStepMs: 135.92,
    contextWeight: 0.58479,
  },
  'vllm-0.10|8B|w8a16': {
    stepBaseMs: 34.692,
    decodePerSeqMs: 1.4077,
    prefillMsPerToken: 0.30901,
    frontEndMs: 10.782,
    batchExponent: 1.0343,
    eagerStepMs: 134.49,
    contextWeight: 0.74993,
  },
  'vllm-0.10|30B-A3B|w4a16': {
    stepBaseMs: 13.078,
    decodePerSeqMs: 2.0837,
    prefillMsPerToken: 0.20675,
    frontEndMs: 25.64,
    batchExponent: 0.99794,
    eagerStepMs: 92.93,
    contextWeight: 0.99608,
  },
  'vllm-0.9|8B|awq': {
    stepBaseMs: 5.8635,
    decodePerSeqMs: 3.4529,
    prefillMsPerToken: 0.51327,
    frontEndMs: 22.657,
    batchExponent: 0.82712,
    eagerStepMs: 9.1164,
    contextWeight: 0.82465,
  },
  'vllm-0.9|8B|bf16': {
    stepBaseMs: 1.3547,
    decodePerSeqMs: 6.7246,
    prefillMsPerToken: 0.19179,
    frontEndMs: 34.708,
    batchExponent: 0.82546,
    eagerStepMs: 0.65084,
    contextWeight: 0.95124,
  },
  'vllm-0.9|8B|w4a16': {
    stepBaseMs: 6.0798,
    decodePerSeqMs: 4.5796,
    prefillMsPerToken: 0.46099,
    frontEndMs: 14.719,
    batchExponent: 0.79787,
    eagerStepMs: 10.397,
    contextWeight: 0.84398,
  },
  'vllm-0.9|30B-A3B|fp8': {
    stepBaseMs: 12.747,
    decodePerSeqMs: 5.9334,
    prefillMsPerToken: 0.35218,
    frontEndMs: 24.219,
    batchExponent: 0.76582,
    eagerStepMs: 8.0896,
    contextWeight: 0.88548,
  },
  'vllm-0.9|30B-A3B|w4a16': {
    stepBaseMs: 2.5022,
    decodePerSeqMs: 2.754,
    prefillMsPerToken: 0.37373,
    frontEndMs: 18.405,
    batchExponent: 0.89299,
    eagerStepMs: 20.488,
    contextWeight: 0.85353,
  },
};

/** FP8 on vLLM 0.10 at the other power/clocks settings the guide measured, as the calibration fitted them. */
export const FP8_POWER_FIT: Record<'MAXN' | '120W' | '120W-clocks', LatencyParams> = {
  '120W-clocks': {
    stepBaseMs: 11.096,
    decodePerSeqMs: 1.3182,
    prefillMsPerToken: 0.059325,
    frontEndMs: 15.295,
    batchExponent: 1.0207,
    eagerStepMs: 30.808,
    contextWeight: 0.78452,
  },
  '120W': {
    stepBaseMs: 12.826,
    decodePerSeqMs: 2.658,
    prefillMsPerToken: 0.047252,
    frontEndMs: 21.294,
    batchExponent: 0.60048,
    eagerStepMs: 71.266,
    contextWeight: 0.50528,
  },
  MAXN: {
    stepBaseMs: 14.328,
    decodePerSeqMs: 1.2073,
    prefillMsPerToken: 0.05483,
    frontEndMs: 20.999,
    batchExponent: 0.87737,
    eagerStepMs: 35.151,
    contextWeight: 0.45375,
  },
};

/** Multipliers applied to a MAXN+clocks calibration for another power mode / clocks setting. */
export interface PowerScaling {
  stepBase: number;
  decodePerSeq: number;
  prefill: number;
  frontEnd: number;
}

function ratio(key: keyof typeof FP8_POWER_FIT | 'MAXN-clocks'): PowerScaling {
  const ref = CALIBRATED[calibrationKey('vllm-0.10', '8B', 'fp8')]!;
  const p = key === 'MAXN-clocks' ? ref : FP8_POWER_FIT[key];
  return {
    stepBase: p.stepBaseMs / ref.stepBaseMs,
    decodePerSeq: p.decodePerSeqMs / ref.decodePerSeqMs,
    prefill: p.prefillMsPerToken / ref.prefillMsPerToken,
    frontEnd: p.frontEndMs / ref.frontEndMs,
  };
}

/**
 * Scaling for a power mode and clocks setting. MAXN and 120W come from the guide's FP8 measurements and are applied
 * to every engine alike. The guide has no 90W/70W numbers: those extrapolate from 120W by the ratio of the
 * power budgets (time ∝ (120 W / budget)^0.8), a guess that only keeps the ordering plausible.
 */
export function powerScaling(powerModeId: number, clocksLocked: boolean): PowerScaling {
  const mode = requirePowerMode(powerModeId);
  const suffix = clocksLocked ? '-clocks' : '';
  if (mode.name === 'MAXN' || mode.name === '120W') return ratio(`${mode.name}${suffix}` as keyof typeof FP8_POWER_FIT);
  const base = ratio(`120W${suffix}` as keyof typeof FP8_POWER_FIT);
  const slower = Math.pow(120 / mode.budgetW, 0.8);
  return {
    stepBase: base.stepBase * slower,
    decodePerSeq: base.decodePerSeq * slower,
    prefill: base.prefill * slower,
    frontEnd: base.frontEnd * slower,
  };
}

/** Size of the served model relative to the calibration model (Qwen3-8B), from its path. */
export interface ModelScale {
  /** Total parameters, billions (8 when the path does not say). */
  totalB: number;
  /** Parameters active per token, billions (MoE "A3B"), else totalB. */
  activeB: number;
  /** `8B`, `30B-A3B`: the size part of a calibration key. */
  tag: string;
  /** Multiplier on the fixed step cost (streaming the weights). */
  stepBase: number;
  /** Multiplier on the per-sequence decode cost. */
  decodePerSeq: number;
  /** Multiplier on prefill cost per token. */
  prefill: number;
}

/**
 * Reads "8B" / "30B-A3B" from a model path such as /models/Qwen/Qwen3-Coder-30B-A3B-Instruct. Sizes without a
 * calibration scale from the calibrated 8B model of the same quantization: dense models with their size, MoE
 * models with their active parameters for the fixed step cost and little for the per-sequence cost (expert
 * routing), their total parameters for prefill. Treat numbers for uncalibrated sizes as rough.
 */
export function modelScaleFromPath(modelPath: string): ModelScale {
  const base = modelPath.split('/').filter(Boolean).pop() ?? '';
  const m = /(?:^|[-_])(\d+(?:\.\d+)?)B(?:[-_]A(\d+(?:\.\d+)?)B)?(?=$|[-_.])/i.exec(base);
  const totalB = m?.[1] ? Number(m[1]) : 8;
  const activeB = m?.[2] ? Number(m[2]) : totalB;
  if (activeB < totalB) {
    const tag = `${totalB}B-A${activeB}B`;
    return {
      totalB,
      activeB,
      tag,
      stepBase: Math.pow(activeB / 8, 0.6),
      decodePerSeq: Math.pow(activeB / 8, 0.15),
      prefill: Math.pow(totalB / 8, 0.3),
    };
  }
  return {
    totalB,
    activeB,
    tag: `${totalB}B`,
    stepBase: totalB / 8,
    decodePerSeq: Math.pow(totalB / 8, 0.7),
    prefill: totalB / 8,
  };
}

export interface LatencyInputs {
  quantization: Quantization;
  powerModeId: number;
  clocksLocked: boolean;
  /** Model path as given to `vllm serve` (for its size); omitted = an 8B model. */
  modelPath?: string;
  /** The engine's image (vLLM version); omitted = the guide's nvcr.io/nvidia/vllm:25.09-py3. */
  image?: string;
  /** Exact engine family (the calibration tool's runs); overrides `image`. */
  family?: EngineFamily;
}

/** The calibrated MAXN+clocks parameters closest to an engine, scaled to its size when not calibrated as such. */
function baseParams(family: EngineFamily, quantization: Quantization, modelPath: string | undefined): LatencyParams {
  const size = modelScaleFromPath(modelPath ?? '8B');
  for (const f of [family, 'vllm-0.10' as const]) {
    const exact = CALIBRATED[calibrationKey(f, size.tag, quantization)];
    if (exact) return exact;
    const small = CALIBRATED[calibrationKey(f, '8B', quantization)];
    if (small) {
      return {
        ...small,
        stepBaseMs: small.stepBaseMs * size.stepBase,
        decodePerSeqMs: small.decodePerSeqMs * size.decodePerSeq,
        prefillMsPerToken: small.prefillMsPerToken * size.prefill,
      };
    }
  }
  throw new Error(`no calibration for ${quantization}`);
}

/** The step-cost parameters for one engine on one device setting. */
export function latencyParams(inputs: LatencyInputs): LatencyParams {
  const family = inputs.family ?? engineFamily(inputs.image);
  const fp8Power = family === 'vllm-0.10' && inputs.quantization === 'fp8' && !inputs.modelPath?.match(/\d+B-A\d/i);
  const mode = requirePowerMode(inputs.powerModeId);
  const key = `${mode.name}${inputs.clocksLocked ? '-clocks' : ''}`;
  if (fp8Power && key !== 'MAXN-clocks' && key in FP8_POWER_FIT)
    return FP8_POWER_FIT[key as keyof typeof FP8_POWER_FIT];
  const q = baseParams(family, inputs.quantization, inputs.modelPath);
  const s = powerScaling(inputs.powerModeId, inputs.clocksLocked);
  return {
    stepBaseMs: q.stepBaseMs * s.stepBase,
    decodePerSeqMs: q.decodePerSeqMs * s.decodePerSeq,
    batchExponent: q.batchExponent,
    contextWeight: q.contextWeight,
    prefillMsPerToken: q.prefillMsPerToken * s.prefill,
    frontEndMs: q.frontEndMs * s.frontEnd,
    eagerStepMs: q.eagerStepMs * s.prefill,
  };
}

/** A step policy for the scheduler from parameters, with optional multiplicative jitter per step. */
export function stepPolicy(p: LatencyParams, jitter: () => number = () => 1): StepPolicy {
  return { costMs: (shape) => stepCostMs(p, shape) * jitter() };
}
