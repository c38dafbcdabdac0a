/**
 * What the simulated engine writes to its log (the container log `docker logs` shows): vLLM-shaped lines, so
 * thorbench's log tails and error classification see what they would see on a Thor, plus explicit
 * "[thorbench simulator]" lines so nobody mistakes the log for a real run. The fault tracebacks follow the shape
 * of vLLM 0.10 failures (the guide's FP8/FP4 crash is a CUDA "no kernel image" error on the first request).
 */

/** Marks the simulator's own lines in engine logs. */
export const SIM_TAG = '[thorbench simulator]';

function two(n: number): string {
  return String(n).padStart(2, '0');
}

/** vLLM's timestamp: MM-DD HH:MM:SS (local time). */
export function vllmTime(d: Date): string {
  return `${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

export type LogLevel = 'INFO' | 'WARNING' | 'ERROR';

/** `INFO 11-27 23:10:01 [api_server.py:1805] message` */
export function vllmLine(level: LogLevel, source: string, message: string, now = new Date()): string {
  return `${level} ${vllmTime(now)} [${source}] ${message}`;
}

const SITE = '/usr/local/lib/python3.12/dist-packages';

function prefixed(level: LogLevel, source: string, lines: string[], now: Date): string[] {
  return lines.map((l) => vllmLine(level, source, l, now));
}

/** One frame of a Python traceback: file (under site-packages, or absolute), line, function, code. */
type Frame = readonly [file: string, line: number, fn: string, code: string];

/** A Python traceback: its frames, then the error. */
function traceback(frames: readonly Frame[], ...error: string[]): string[] {
  return [
    'Traceback (most recent call last):',
    ...frames.flatMap(([file, line, fn, code]) => [
      `  File "${file.startsWith('/') ? file : `${SITE}/${file}`}", line ${line}, in ${fn}`,
      `    ${code}`,
    ]),
    ...error,
  ];
}

/** EngineCore's report of its own failure: what happened, then its traceback, every line an ERROR of `source`. */
function engineCoreFailure(source: string, what: string, frames: readonly Frame[], error: string[], now: Date) {
  return prefixed('ERROR', source, [what, ...traceback(frames, ...error)], now);
}

/** How the `vllm` command's own traceback starts. */
const VLLM_MAIN: Frame = ['/usr/local/bin/vllm', 8, '<module>', 'sys.exit(main())'];

const NO_KERNEL_IMAGE = 'RuntimeError: CUDA error: no kernel image is available for execution on the device';

/** Engine core failing during start-up (fault crash-on-load). */
export function crashOnLoadLines(now = new Date()): string[] {
  const core: Frame[] = [
    ['vllm/v1/engine/core.py', 691, 'run_engine_core', 'engine_core = EngineCoreProc(*args, **kwargs)'],
    ['vllm/v1/engine/core.py', 492, '__init__', 'super().__init__(vllm_config, executor_class, log_stats,'],
    ['vllm/v1/engine/core.py', 89, '__init__', 'self._initialize_kv_caches(vllm_config)'],
    [
      'vllm/v1/worker/gpu_model_runner.py',
      2876,
      'capture_model',
      'self._dummy_run(num_tokens, capture_attn_cudagraph=full_cg)',
    ],
  ];
  const cli: Frame[] = [
    VLLM_MAIN,
    ['vllm/entrypoints/cli/main.py', 54, 'main', 'args.dispatch_function(args)'],
    ['vllm/v1/engine/core_client.py', 447, '__init__', 'self._wait_for_engine_startup()'],
  ];
  return [
    ...engineCoreFailure('core.py:700', 'EngineCore failed to start.', core, [NO_KERNEL_IMAGE], now),
    ...traceback(
      cli,
      "RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {'EngineCore_0': 1}",
    ),
  ];
}

/** The CUDA error of the guide's FP8/FP4 models on the first request (fault crash-on-first-request). */
export function crashOnRequestLines(now = new Date()): string[] {
  const core: Frame[] = [
    ['vllm/v1/engine/core.py', 711, 'run_engine_core', 'engine_core.run_busy_loop()'],
    ['vllm/v1/engine/core.py', 738, 'run_busy_loop', 'self._process_engine_step()'],
    [
      'vllm/model_executor/layers/quantization/utils/w8a8_utils.py',
      363,
      'apply',
      'output = ops.cutlass_scaled_mm(qinput, weight, out_dtype=out_dtype, scale_a=x_scale, scale_b=weight_scale, bias=bias)',
    ],
  ];
  const error = [
    NO_KERNEL_IMAGE,
    'CUDA kernel errors might be asynchronously reported at some other API call, so the stacktrace below might be incorrect.',
    'For debugging consider passing CUDA_LAUNCH_BLOCKING=1',
    'Compile with `TORCH_USE_CUDA_DSA` to enable device-side assertions.',
  ];
  return [
    ...engineCoreFailure('core.py:720', 'EngineCore encountered a fatal error.', core, error, now),
    vllmLine('ERROR', 'async_llm.py:485', 'AsyncLLM output_handler failed.', now),
    'vllm.v1.engine.exceptions.EngineDeadError: EngineCore encountered an issue. See stack trace (above) for the root cause.',
    'INFO:     Shutting down',
    'INFO:     Application shutdown complete.',
  ];
}

/**
 * A model path that does not exist (fault missingModels): vLLM first tries the path as a Hugging Face repo id
 * (huggingface_hub rejects it), then gives up with its config lookup error.
 */
export function missingModelLines(model: string, now = new Date()): string[] {
  return [
    ...traceback(
      [
        ['vllm/transformers_utils/config.py', 360, 'get_config', 'config_dict, _ = PretrainedConfig.get_config_dict('],
        ['huggingface_hub/utils/_validators.py', 154, 'validate_repo_id', 'raise HFValidationError('],
      ],
      `huggingface_hub.errors.HFValidationError: Repo id must be in the form 'repo_name' or 'namespace/repo_name': '${model}'. Use \`repo_type\` argument if needed.`,
    ),
    '',
    'During handling of the above exception, another exception occurred:',
    '',
    ...traceback(
      [VLLM_MAIN, ['vllm/transformers_utils/config.py', 395, 'get_config', 'raise ValueError(']],
      `ValueError: Invalid repository ID or local directory specified: '${model}'.`,
      'Please verify the following requirements:',
      '1. Provide a valid Hugging Face repository ID.',
      '2. Specify a local directory that contains a recognized configuration file.',
      "   - For Hugging Face models: ensure the presence of a 'config.json'.",
      "   - For Mistral models: ensure the presence of a 'params.json'.",
    ),
    vllmLine('ERROR', 'api_server.py:1900', `${SIM_TAG} model path ${model} is listed in missingModels`, now),
  ];
}

export function addressInUseLines(host: string, port: number, now = new Date()): string[] {
  return [
    vllmLine(
      'ERROR',
      'api_server.py:1920',
      `[Errno 98] error while attempting to bind on address ('${host}', ${port}): address already in use`,
      now,
    ),
    'OSError: [Errno 98] Address already in use',
  ];
}
