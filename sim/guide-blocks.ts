/**
 * The guide's 43 `vllm bench serve` result blocks as benchmarks the simulator can re-run: which engine served
 * them, on which device setting, and the benchmark's command line. The measured numbers are the fixtures
 * fixtures/vllm-bench-text/<block>.expected.json (parsed from the .txt blocks); the command lines are the
 * guide's, as follows:
 * - quantization and power/clocks sweeps (image nvcr.io/nvidia/vllm:25.09-py3, `vllm serve <model>` with defaults):
 *   high load `--random-input-len 2048 --random-output-len 128 --num-prompts 100 --max-concurrency 8` (GPTQ-Int4:
 *   200 prompts), then low load `--num-prompts 10 --max-concurrency 1` on the same engine (GGUF: one prompt);
 * - scenarios (image nvcr.io/nvidia/tritonserver:25.08-vllm-python-py3, `--max-model-len 32000`): chat 128/64,
 *   throughput 256/512, long context 1024/128, 1000 prompts each at request rate inf without a concurrency cap.
 * vLLM's default --seed 0 makes the random dataset repeat its prompts between runs, so the low-load run's prompts
 * are the first ones of the high-load run before it, and the engine's prefix cache holds them. The prompts' lengths
 * are the guide's own (fixtures/vllm-bench-text/prompt-lengths.json, reproduced with vLLM's dataset code and Qwen3's
 * tokenizer by scripts/guide-prompt-lengths.py): each block's sum equals its "Total input tokens".
 *
 * Pure apart from reading the fixtures.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Quantization } from '../schema/experiment.js';
import type { VirtualScenario } from './virtual-run.js';

export type EngineFamily = 'vllm-0.10' | 'vllm-0.9';

/** Images of the guide's two engine families. */
export const FAMILY_IMAGES: Record<EngineFamily, string> = {
  'vllm-0.10': 'nvcr.io/nvidia/vllm:25.09-py3',
  'vllm-0.9': 'nvcr.io/nvidia/tritonserver:25.08-vllm-python-py3',
};

/** The engine family an image belongs to (the simulator's calibration differs between them). */
export function engineFamily(image: string | undefined): EngineFamily {
  if (/tritonserver:25\.0[0-8]/.test(image ?? '') || /vllm-openai:v?0\.9\./.test(image ?? '')) return 'vllm-0.9';
  return 'vllm-0.10';
}

export interface GuideBlock {
  /** Fixture name without extension, e.g. quantization__qwen3-8b-fp8.maxn-clocks.high-load */
  name: string;
  sweep: 'quantization' | 'power-clocks' | 'scenarios';
  /** Model id in the fixture name, e.g. qwen3-8b-fp8 */
  model: string;
  /** The model's path under /models, as `vllm serve` got it. */
  modelPath: string;
  quantization: Quantization;
  family: EngineFamily;
  powerModeId: number;
  clocksLocked: boolean;
  /** high-load, low-load, chat, throughput, long-context */
  load: string;
  scenario: VirtualScenario;
  /** The guide's numbers (vLLM's result keys). */
  expected: Record<string, number>;
}

const MODEL_PATHS: Record<string, [string, Quantization]> = {
  'qwen3-8b-bf16': ['Qwen/Qwen3-8B', 'bf16'],
  'qwen3-8b-fp8': ['Qwen/Qwen3-8B-FP8', 'fp8'],
  'qwen3-8b-fp4': ['nv-community/Qwen3-8B-FP4', 'fp4'],
  'qwen3-8b-gptq-int4': ['JunHowie/Qwen3-8B-GPTQ-Int4', 'gptq-int4'],
  'qwen3-8b-gptq-int8': ['JunHowie/Qwen3-8B-GPTQ-Int8', 'gptq-int8'],
  'qwen3-8b-awq': ['Qwen/Qwen3-8B-AWQ', 'awq'],
  'qwen3-8b-int4-w4a16': ['okwinds/Qwen3-8B-Int4-W4A16', 'w4a16'],
  'qwen3-8b-int8-w8a16': ['okwinds/Qwen3-8B-Int8-W8A16', 'w8a16'],
  'qwen3-8b-gguf-q5km': ['Qwen/Qwen3-8B-GGUF/Qwen3-8B-Q5_K_M.gguf', 'gguf'],
  'qwen3-coder-30b-a3b-int4-w4a16': ['Qwen/Qwen3-Coder-30B-A3B-Instruct-W4A16', 'w4a16'],
  'qwen3-coder-30b-a3b-fp8': ['Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8', 'fp8'],
};

const POWER: Record<string, [number, boolean]> = {
  maxn: [0, false],
  'maxn-clocks': [0, true],
  '120w': [1, false],
  '120w-clocks': [1, true],
};

/** The guide's benchmark command lines (see the module comment). */
function guideScenario(sweep: GuideBlock['sweep'], model: string, load: string): VirtualScenario {
  if (sweep === 'scenarios') {
    const shapes: Record<string, [number, number]> = {
      chat: [128, 64],
      throughput: [256, 512],
      'long-context': [1024, 128],
    };
    const shape = shapes[load];
    if (!shape) throw new Error(`unknown guide scenario ${load}`);
    return { inputLen: shape[0], outputLen: shape[1], numPrompts: 1000 };
  }
  const highLoadPrompts = model === 'qwen3-8b-gptq-int4' ? 200 : 100;
  if (load === 'high-load') return { inputLen: 2048, outputLen: 128, numPrompts: highLoadPrompts, maxConcurrency: 8 };
  if (load !== 'low-load') throw new Error(`unknown guide load ${load}`);
  const lowPrompts = model === 'qwen3-8b-gguf-q5km' ? 1 : 10;
  return {
    inputLen: 2048,
    outputLen: 128,
    numPrompts: lowPrompts,
    maxConcurrency: lowPrompts === 1 ? undefined : 1,
    warmedBy: [{ numPrompts: highLoadPrompts }],
  };
}

/** Parses a block's fixture name; undefined for names that are not guide blocks. */
export function parseBlockName(name: string): Omit<GuideBlock, 'expected'> | undefined {
  const m =
    /^(quantization|power-clocks|scenarios)__([a-z0-9-]+?)\.(?:(maxn|maxn-clocks|120w|120w-clocks)\.)?([a-z-]+)$/.exec(
      name,
    );
  if (!m) return undefined;
  const [, sweep, model, power, load] = m as unknown as [
    string,
    GuideBlock['sweep'],
    string,
    string | undefined,
    string,
  ];
  const paths = MODEL_PATHS[model];
  if (!paths) return undefined;
  const [powerModeId, clocksLocked] = POWER[power ?? 'maxn-clocks']!;
  return {
    name,
    sweep,
    model,
    modelPath: paths[0],
    quantization: paths[1],
    family: sweep === 'scenarios' ? 'vllm-0.9' : 'vllm-0.10',
    powerModeId,
    clocksLocked,
    load,
    scenario: guideScenario(sweep, model, load),
  };
}

/** Default location of the fixtures, relative to this file (dist/sim → fixtures). */
export function defaultFixturesDir(): string {
  return fileURLToPath(new URL('../../fixtures/vllm-bench-text/', import.meta.url));
}

/** The guide's prompt lengths by --random-input-len, in request order (a shorter run takes the first ones). */
export function readPromptLengths(dir = defaultFixturesDir()): Record<string, number[]> {
  const doc = JSON.parse(fs.readFileSync(path.join(dir, 'prompt-lengths.json'), 'utf8')) as {
    lengths: Record<string, number[]>;
  };
  return doc.lengths;
}

/** Every guide block with its expected numbers and its prompts' lengths, sorted by name. */
export function readGuideBlocks(dir = defaultFixturesDir()): GuideBlock[] {
  const lengths = readPromptLengths(dir);
  const blocks: GuideBlock[] = [];
  for (const file of fs.readdirSync(dir).sort()) {
    if (!file.endsWith('.expected.json')) continue;
    const parsed = parseBlockName(file.slice(0, -'.expected.json'.length));
    if (!parsed) continue;
    const expected = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as Record<string, number>;
    const inputLens = lengths[String(parsed.scenario.inputLen)]?.slice(0, parsed.scenario.numPrompts) ?? [];
    const total = inputLens.reduce((sum, x) => sum + x, 0);
    if (inputLens.length !== parsed.scenario.numPrompts || total !== expected.total_input_tokens)
      throw new Error(`${file}: the prompt lengths sum to ${total}, the block has ${expected.total_input_tokens}`);
    blocks.push({ ...parsed, scenario: { ...parsed.scenario, inputLens }, expected });
  }
  return blocks;
}
