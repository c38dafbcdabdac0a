/**
 * The simulated engine's command line: the same argv as `vllm serve` (after the program name), so the fake docker
 * can run the container's command unchanged. Unknown flags fail like vLLM's argparse ("unrecognized arguments",
 * exit 2). Also what the engine derives from its model path and image: quantization, size, vLLM version.
 * Pure functions.
 */
import { QUANTIZATIONS, type Quantization } from '../schema/experiment.js';

export interface ServeArgs {
  /** Model path or id as given (e.g. /models/Qwen/Qwen3-8B-FP8). */
  model: string;
  servedModelNames: string[];
  host?: string;
  port: number;
  gpuMemoryUtilization: number;
  maxModelLen?: number;
  maxNumSeqs?: number;
  maxNumBatchedTokens?: number;
  /** --quantization as given (vLLM's names: fp8, awq, gptq, gguf, ...). */
  quantization?: string;
  seed?: number;
  /** vLLM V1 caches prompt prefixes unless --no-enable-prefix-caching. */
  enablePrefixCaching: boolean;
}

/** Flags with a value that the simulator understands or accepts (vLLM flags; extra ones are ignored). */
const VALUE_FLAGS = new Set([
  '--served-model-name',
  '--host',
  '--port',
  '--gpu-memory-utilization',
  '--max-model-len',
  '--max-num-seqs',
  '--max-num-batched-tokens',
  '--quantization',
  '-q',
  '--dtype',
  '--kv-cache-dtype',
  '--tokenizer',
  '--tensor-parallel-size',
  '-tp',
  '--swap-space',
  '--block-size',
  '--seed',
  '--load-format',
  '--compilation-config',
  '-O',
  '--generation-config',
  '--reasoning-parser',
  '--model',
  '--download-dir',
  '--uvicorn-log-level',
  '--api-key',
]);
const BOOL_FLAGS = new Set([
  '--enable-prefix-caching',
  '--no-enable-prefix-caching',
  '--enable-chunked-prefill',
  '--no-enable-chunked-prefill',
  '--enforce-eager',
  '--trust-remote-code',
  '--disable-log-requests',
  '--disable-log-stats',
  '--disable-uvicorn-access-log',
]);

/** The numeric flags the simulator reads: the argument each sets, and whether argparse wants an int. */
const NUMBER_FLAGS: Record<
  string,
  readonly [
    key: 'port' | 'gpuMemoryUtilization' | 'maxModelLen' | 'maxNumSeqs' | 'maxNumBatchedTokens' | 'seed',
    integer: boolean,
  ]
> = {
  '--port': ['port', true],
  '--gpu-memory-utilization': ['gpuMemoryUtilization', false],
  '--max-model-len': ['maxModelLen', true],
  '--max-num-seqs': ['maxNumSeqs', true],
  '--max-num-batched-tokens': ['maxNumBatchedTokens', true],
  '--seed': ['seed', true],
};

export class ServeArgsError extends Error {
  override readonly name = 'ServeArgsError';
}

function num(flag: string, v: string, integer: boolean): number {
  const n = Number(v);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n)))
    throw new ServeArgsError(`argument ${flag}: invalid ${integer ? 'int' : 'float'} value: '${v}'`);
  return n;
}

/** Parses `serve MODEL [flags]` (the argv after `vllm`). */
export function parseServeArgs(argv: string[]): ServeArgs {
  if (argv[0] !== 'serve')
    throw new ServeArgsError(`invalid choice: '${argv[0] ?? ''}' (the simulated engine only implements 'serve')`);
  let model: string | undefined;
  const names: string[] = [];
  const out: Partial<ServeArgs> = {};
  const unknown: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const raw = argv[i]!;
    if (!raw.startsWith('-')) {
      if (model === undefined) model = raw;
      else unknown.push(raw);
      continue;
    }
    const eq = raw.indexOf('=');
    const flag = raw.startsWith('--') && eq > 0 ? raw.slice(0, eq) : raw;
    if (BOOL_FLAGS.has(flag)) {
      if (flag === '--no-enable-prefix-caching') out.enablePrefixCaching = false;
      if (flag === '--enable-prefix-caching') out.enablePrefixCaching = true;
      continue;
    }
    if (!VALUE_FLAGS.has(flag)) {
      unknown.push(raw);
      continue;
    }
    const value = eq > 0 && raw.startsWith('--') ? raw.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new ServeArgsError(`argument ${flag}: expected one argument`);
    const numeric = NUMBER_FLAGS[flag];
    if (numeric) {
      const [key, integer] = numeric;
      out[key] = num(flag, value, integer);
      if (key === 'port' && (out.port! < 0 || out.port! > 65535))
        throw new ServeArgsError(`argument --port: ${value} is not a TCP port (0-65535)`);
      continue;
    }
    switch (flag) {
      case '--served-model-name':
        names.push(value);
        // nargs='+': following non-flag words are more names.
        while (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('-')) names.push(argv[++i]!);
        break;
      case '--model':
        model = value;
        break;
      case '--host':
        out.host = value;
        break;
      case '--quantization':
      case '-q':
        out.quantization = value;
        break;
      default:
        break;
    }
  }
  if (unknown.length > 0) throw new ServeArgsError(`unrecognized arguments: ${unknown.join(' ')}`);
  if (model === undefined) throw new ServeArgsError('the following arguments are required: model_tag');
  return {
    model,
    servedModelNames: names.length > 0 ? names : [model],
    host: out.host,
    port: out.port ?? 8000,
    gpuMemoryUtilization: out.gpuMemoryUtilization ?? 0.9,
    maxModelLen: out.maxModelLen,
    maxNumSeqs: out.maxNumSeqs,
    maxNumBatchedTokens: out.maxNumBatchedTokens,
    quantization: out.quantization,
    seed: out.seed,
    enablePrefixCaching: out.enablePrefixCaching ?? true,
  };
}

/** Label thorbench's engine activity puts on every container: the experiment's quantization. */
export const QUANTIZATION_LABEL = 'thorbench.quantization';

/**
 * The quantization the engine serves: the container label (thorbench always sets it), else vLLM's --quantization,
 * else a guess from the model name (Qwen3-8B-FP8, ...-AWQ, ...-GPTQ-Int4), else bf16.
 */
export function resolveQuantization(labels: Record<string, string>, args: ServeArgs): Quantization {
  const label = labels[QUANTIZATION_LABEL];
  if (label && (QUANTIZATIONS as readonly string[]).includes(label)) return label as Quantization;
  const name = args.model.toLowerCase();
  const q = args.quantization?.toLowerCase();
  if (q === 'fp8') return 'fp8';
  if (q === 'awq' || q === 'awq_marlin') return 'awq';
  if (q === 'gguf') return 'gguf';
  if (q === 'gptq' || q === 'gptq_marlin') return name.includes('int8') ? 'gptq-int8' : 'gptq-int4';
  if (q === 'modelopt_fp4' || q === 'nvfp4') return 'fp4';
  if (/gguf/.test(name)) return 'gguf';
  if (/gptq[-_]?int8/.test(name)) return 'gptq-int8';
  if (/gptq/.test(name)) return 'gptq-int4';
  if (/awq/.test(name)) return 'awq';
  if (/w4a16/.test(name)) return 'w4a16';
  if (/w8a16/.test(name)) return 'w8a16';
  if (/fp8/.test(name)) return 'fp8';
  if (/fp4/.test(name)) return 'fp4';
  return 'bf16';
}

/** Approximate bytes per parameter on disk, to size the simulated load time and memory. */
export const BYTES_PER_PARAM: Record<Quantization, number> = {
  bf16: 2,
  fp16: 2,
  fp8: 1.11,
  fp4: 0.75,
  'gptq-int4': 0.71,
  'gptq-int8': 1.12,
  awq: 0.71,
  w4a16: 0.71,
  w8a16: 1.11,
  gguf: 0.69,
};

/** vLLM versions of NVIDIA's containers (their release notes; docs/thor.md), for /version. */
const NGC_VLLM: Record<string, string> = {
  '25.09': '0.10.1.1+nv25.09',
  '25.10': '0.10.2+nv25.10',
  '25.11': '0.11.0+nv25.11',
  '26.01': '0.11.1+nv26.01',
  '26.03': '0.17.1+nv26.03',
  '26.05': '0.20.1+nv26.05',
};

/** The version /version reports: the image's vLLM version with a `+sim` local part, so it never passes for real. */
export function simulatedVllmVersion(image: string | undefined): string {
  let base = '0.10.1.1';
  const ngc = /nvcr\.io\/nvidia\/vllm:(\d\d\.\d\d)/.exec(image ?? '');
  const upstream = /vllm-openai:v?(\d+\.\d+\.\d+)/.exec(image ?? '');
  if (ngc?.[1] && NGC_VLLM[ngc[1]]) base = NGC_VLLM[ngc[1]]!;
  else if (upstream?.[1]) base = upstream[1];
  const plus = base.indexOf('+');
  return plus < 0 ? `${base}+sim` : `${base.slice(0, plus)}+sim.${base.slice(plus + 1)}`;
}
