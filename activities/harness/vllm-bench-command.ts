/**
 * The `vllm bench serve` command line of the vllm harness, and reading its progress output. Pure: every value
 * comes from the validated experiment (schema/experiment.ts), so nothing here reaches a shell or needs quoting.
 */
import { goodputArgs, type GoodputSlos, metricPercentilesArgs } from '../../metrics/slo.js';
import type { LoadShape, SeededLoad } from './load-shape.js';

/** vLLM's ready-check budget: one untimed initial request, as the builtin harness sends (loadgen.ts). */
export const READY_CHECK_TIMEOUT_S = 1;

/** Where the benchmark writes its JSON inside the engine container. */
export const CONTAINER_RESULTS_DIR = '/tmp/thorbench-results';

export type BenchServeSpec = SeededLoad & {
  port: number;
  servedName: string;
  /** Model directory inside the container (its tokenizer), e.g. /models/Qwen/Qwen3-8B-FP8. */
  tokenizer: string;
  /** --metric-percentiles; metrics/slo.ts's default set when undefined (99 is always included). */
  percentiles?: readonly number[];
  goodput?: GoodputSlos;
  /** Save the result with per-request arrays under this name in CONTAINER_RESULTS_DIR; none for a warm-up. */
  resultFile?: string;
};

/** vLLM's spelling of a rate: 2.5 → "2.5". */
const num = (v: number): string => String(v);

/** The random dataset's flags: prompt and output lengths, how many prompts. */
export function randomDatasetArgs(l: LoadShape): string[] {
  return [
    '--dataset-name',
    'random',
    '--random-input-len',
    String(l.inputLen),
    '--random-output-len',
    String(l.outputLen),
    '--num-prompts',
    String(l.numPrompts),
  ];
}

/** The load's concurrency cap and request rate (with its burstiness), each only when set. */
export function loadRateArgs(l: LoadShape): string[] {
  return [
    ...(l.maxConcurrency !== undefined ? ['--max-concurrency', String(l.maxConcurrency)] : []),
    ...(l.requestRate !== undefined
      ? ['--request-rate', num(l.requestRate), '--burstiness', num(l.burstiness ?? 1)]
      : []),
  ];
}

/** The argv to run inside the container: `vllm bench serve ...`. */
export function benchServeArgv(s: BenchServeSpec): string[] {
  const argv = [
    'vllm',
    'bench',
    'serve',
    '--backend',
    'vllm',
    '--base-url',
    `http://127.0.0.1:${s.port}`,
    '--endpoint',
    '/v1/completions',
    '--model',
    s.servedName,
    '--tokenizer',
    s.tokenizer,
    ...randomDatasetArgs(s),
    ...loadRateArgs(s),
  ];
  argv.push('--ignore-eos', '--seed', String(s.seed), '--percentile-metrics', 'ttft,tpot,itl,e2el');
  // vLLM's untimed initial test request (its "ready check"), which also opens the connection before the timed window.
  // vLLM 0.33 skips it unless given a budget; with 1 s it makes exactly one attempt (it retries only while budget
  // remains), which is enough: the engine has already answered /health.
  argv.push('--ready-check-timeout-sec', String(READY_CHECK_TIMEOUT_S));
  argv.push(...metricPercentilesArgs(s.percentiles), ...goodputArgs(s.goodput));
  if (s.resultFile !== undefined) {
    argv.push(
      '--save-result',
      '--save-detailed',
      '--result-dir',
      CONTAINER_RESULTS_DIR,
      '--result-filename',
      s.resultFile,
    );
  }
  return argv;
}

export interface BenchProgress {
  done: number;
  total: number;
}

/**
 * A tqdm progress line of the main run (` 50%|█████     | 16/32 [00:02<00:02,  7.50it/s]`) → done/total; null for
 * any other line. vLLM draws one bar per run (no --num-warmups), so every bar line is the benchmark's.
 */
export function parseProgressLine(line: string): BenchProgress | null {
  const m = /^\s*\d+%\|[^|]*\|\s*(\d+)\/(\d+)\s*\[/.exec(line);
  if (!m) return null;
  return { done: Number(m[1]), total: Number(m[2]) };
}

/** vLLM prints this right before its timed window opens: the energy window starts here. */
export const MAIN_RUN_LINE = /^Starting main benchmark run/;
/** ...and this header right after the timed window closes. */
export const RESULT_HEADER_LINE = /=+\s*Serving Benchmark Result\s*=+/;
