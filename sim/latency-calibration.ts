/**
 * Fits the simulator's latency model (sim/latency-model.ts) to the guide's measurements and prints the constants.
 *
 *   npx tsc -p tsconfig.json && node dist/sim/latency-calibration.js [fixtures-dir]
 *
 * Inputs are the guide's `vllm bench serve` results in fixtures/vllm-bench-text/, named
 * `<sweep>__<model>.<power>[-clocks].<load>.expected.json`. For every (model, power, clocks) with both a low-load
 * (10 prompts, concurrency 1) and a high-load (100 prompts, concurrency 8) result, the fit chooses how a step's
 * time splits between the fixed part and the per-sequence part, the prefill chunk size and (only when a linear
 * batch cost cannot fit, as for GGUF) the batch exponent, so that the simulated run reproduces mean TTFT and TPOT
 * of both loads. Low load pins two of the parameters exactly (TPOT = one decode step of one sequence, TTFT = one
 * prefill step of the whole prompt).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Quantization } from '../schema/experiment.js';
import { type BenchScenario, type LatencyParams, predictScenario } from './latency-model.js';
import { powerModeById } from './thor-power-modes.js';

/** The guide's two benchmark shapes. */
export const GUIDE_LOW_LOAD: BenchScenario = { inputLen: 2048, outputLen: 128, numPrompts: 10, maxConcurrency: 1 };
export const GUIDE_HIGH_LOAD: BenchScenario = { inputLen: 2048, outputLen: 128, numPrompts: 100, maxConcurrency: 8 };

export interface GuideCellName {
  sweep: string;
  /** Model id in the fixture name, e.g. qwen3-8b-fp8. */
  model: string;
  quantization: Quantization;
  powerModeId: number;
  clocksLocked: boolean;
  load: 'low-load' | 'high-load';
}

/** Maps the model ids used in the fixture names to quantizations (longest, most specific match first). */
const QUANT_BY_MODEL_SUFFIX: readonly [RegExp, Quantization][] = [
  [/gptq-int4$/, 'gptq-int4'],
  [/gptq-int8$/, 'gptq-int8'],
  [/w4a16$/, 'w4a16'],
  [/w8a16$/, 'w8a16'],
  [/awq$/, 'awq'],
  [/gguf(-[a-z0-9]+)?$/, 'gguf'],
  [/fp8$/, 'fp8'],
  [/fp4$/, 'fp4'],
  [/bf16$/, 'bf16'],
];

/** Parses a fixture file name; undefined for files outside the power/quantization sweeps (e.g. scenarios__*). */
export function parseGuideFixtureName(file: string): GuideCellName | undefined {
  const m = /^([a-z-]+)__([a-z0-9.-]+?)\.(maxn|120w|90w|70w)(-clocks)?\.(low-load|high-load)\.expected\.json$/.exec(path.basename(file));
  if (!m) return undefined;
  const [, sweep, model, power, clocks, load] = m;
  const quant = QUANT_BY_MODEL_SUFFIX.find(([re]) => re.test(model!));
  const mode = [0, 1, 2, 3].map((id) => powerModeById(id)!).find((pm) => pm.name.toLowerCase() === power);
  if (!quant || !mode) return undefined;
  return { sweep: sweep!, model: model!, quantization: quant[1], powerModeId: mode.id, clocksLocked: clocks === '-clocks', load: load as GuideCellName['load'] };
}

export interface GuideTarget {
  /** <model>.<power>[-clocks], e.g. qwen3-8b-fp8.maxn-clocks */
  key: string;
  model: string;
  quantization: Quantization;
  powerModeId: number;
  clocksLocked: boolean;
  low: { meanTtftMs: number; meanTpotMs: number };
  high: { meanTtftMs: number; meanTpotMs: number };
}

/** Reads every (model, power, clocks) that has both loads. Duplicates across sweeps (same numbers) collapse. */
export function readGuideTargets(fixturesDir: string): GuideTarget[] {
  const byKey = new Map<string, Partial<GuideTarget> & { key: string }>();
  for (const file of fs.readdirSync(fixturesDir).sort()) {
    const name = parseGuideFixtureName(file);
    if (!name) continue;
    const expected = JSON.parse(fs.readFileSync(path.join(fixturesDir, file), 'utf8')) as { mean_ttft_ms: number; mean_tpot_ms: number };
    const key = `${name.model}.${powerModeById(name.powerModeId)!.name.toLowerCase()}${name.clocksLocked ? '-clocks' : ''}`;
    const entry = byKey.get(key) ?? { key, model: name.model, quantization: name.quantization, powerModeId: name.powerModeId, clocksLocked: name.clocksLocked };
    const values = { meanTtftMs: expected.mean_ttft_ms, meanTpotMs: expected.mean_tpot_ms };
    if (name.load === 'low-load') entry.low = values;
    else entry.high = values;
    byKey.set(key, entry);
  }
  return [...byKey.values()].filter((t): t is GuideTarget => t.low !== undefined && t.high !== undefined);
}

/** Default location of the fixtures, relative to this file (dist/sim → fixtures). */
export function defaultFixturesDir(): string {
  return fileURLToPath(new URL('../../fixtures/vllm-bench-text/', import.meta.url));
}

interface Candidate {
  frac: number;
  chunk: number;
  gamma: number;
}

export interface FitResult {
  params: LatencyParams;
  /** sqrt of the summed squared log errors of high-load TTFT and TPOT. */
  error: number;
}

function paramsFor(t: GuideTarget, c: Candidate, inputLen: number): LatencyParams | undefined {
  const stepBaseMs = t.low.meanTpotMs * c.frac;
  const prefillMsPerToken = (t.low.meanTtftMs - stepBaseMs) / inputLen;
  if (prefillMsPerToken <= 0) return undefined;
  return { stepBaseMs, decodePerSeqMs: t.low.meanTpotMs - stepBaseMs, batchExponent: c.gamma, prefillMsPerToken, prefillChunkTokens: c.chunk };
}

/** Fits one target. Deterministic (no jitter during the fit). */
export function fitTarget(t: GuideTarget): FitResult {
  const score = (c: Candidate): number => {
    const p = paramsFor(t, c, GUIDE_HIGH_LOAD.inputLen);
    if (!p) return Infinity;
    const h = predictScenario(p, GUIDE_HIGH_LOAD);
    return Math.hypot(Math.log(h.meanTtftMs / t.high.meanTtftMs), Math.log(h.meanTpotMs / t.high.meanTpotMs));
  };
  const search = (gammas: number[]): { c: Candidate; e: number } => {
    let best = { c: { frac: 0.5, chunk: 128, gamma: 1 }, e: Infinity };
    for (const gamma of gammas)
      for (let frac = 0.04; frac < 1; frac += 0.04)
        for (let chunk = 4; chunk <= 2048; chunk = Math.max(chunk + 1, Math.round(chunk * 1.2))) {
          const c = { frac, chunk, gamma };
          const e = score(c);
          if (e < best.e) best = { c, e };
        }
    // Coordinate descent with shrinking steps.
    let step = { frac: 0.02, chunk: 0.25, gamma: gammas.length > 1 ? 0.1 : 0 };
    for (let i = 0; i < 80 && (step.frac > 1e-4 || step.chunk > 0.005); i++) {
      const { frac, chunk, gamma } = best.c;
      const moves: Candidate[] = [
        { frac: frac + step.frac, chunk, gamma },
        { frac: frac - step.frac, chunk, gamma },
        { frac, chunk: Math.round(chunk * (1 + step.chunk)), gamma },
        { frac, chunk: Math.max(1, Math.round(chunk / (1 + step.chunk))), gamma },
      ];
      if (step.gamma > 0) moves.push({ frac, chunk, gamma: gamma + step.gamma }, { frac, chunk, gamma: Math.max(1, gamma - step.gamma) });
      let improved = false;
      for (const c of moves) {
        if (c.frac <= 0 || c.frac >= 1) continue;
        const e = score(c);
        if (e < best.e) {
          best = { c, e };
          improved = true;
        }
      }
      if (!improved) step = { frac: step.frac / 2, chunk: step.chunk / 2, gamma: step.gamma / 2 };
    }
    return best;
  };
  let best = search([1]);
  if (best.e > 0.03) {
    const withGamma = search(Array.from({ length: 18 }, (_, i) => 1.1 + i * 0.1));
    if (withGamma.e < best.e) best = withGamma;
  }
  return { params: paramsFor(t, best.c, GUIDE_HIGH_LOAD.inputLen)!, error: best.e };
}

function round(x: number): number {
  return Number(x.toPrecision(5));
}

function main(): void {
  const dir = process.argv[2] ?? defaultFixturesDir();
  const targets = readGuideTargets(dir);
  if (targets.length === 0) {
    console.error(`no guide fixtures found in ${dir}: pass the directory holding *.expected.json`);
    process.exit(2);
  }
  for (const t of targets) {
    const fit = fitTarget(t);
    const p = fit.params;
    const literal = `{ stepBaseMs: ${round(p.stepBaseMs)}, decodePerSeqMs: ${round(p.decodePerSeqMs)}, batchExponent: ${round(p.batchExponent)}, prefillMsPerToken: ${round(p.prefillMsPerToken)}, prefillChunkTokens: ${p.prefillChunkTokens} }`;
    console.log(`${t.key.padEnd(48)} fit error ${(fit.error * 100).toFixed(1).padStart(5)} %  ${literal}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) main();
