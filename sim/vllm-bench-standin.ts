/**
 * `vllm bench serve` inside a simulated container, when no real vLLM client is configured: a stand-in that takes
 * vLLM's command line, puts real load on the simulated engine through thorbench's builtin load generator
 * (activities/harness/loadgen.ts), and writes what vLLM 0.33 writes: its progress, its printed result block, and
 * with `--save-result --save-detailed` its JSON with the same keys and per-request arrays, every number computed
 * from the requests just made (metrics/calculate.ts). Nothing is canned.
 *
 * Only the random dataset and the OpenAI completions endpoint are supported, which is what thorbench's vllm
 * harness runs; other options fail like vLLM's argparse (exit 2).
 */
import fs from 'node:fs';
import path from 'node:path';
import { InitialRequestError, runLoad } from '../activities/harness/loadgen.js';
import { arrivalSchedule } from '../activities/harness/schedule.js';
import { calculateMetrics } from '../metrics/calculate.js';
import type { GoodputSlos } from '../metrics/slo.js';
import { percentileKey } from '../metrics/vllm-keys.js';
import { LATENCY_METRICS } from '../schema/metrics.js';
import type { CommandIO } from './commands/cli.js';

export interface BenchServeArgs {
  baseUrl: string;
  endpoint: string;
  model: string;
  tokenizer: string | null;
  inputLen: number;
  outputLen: number;
  numPrompts: number;
  maxConcurrency: number | null;
  requestRate: number;
  burstiness: number;
  ignoreEos: boolean;
  seed: number;
  percentileMetrics: string[];
  metricPercentiles: number[];
  goodput: GoodputSlos | null;
  saveResult: boolean;
  saveDetailed: boolean;
  resultDir: string | null;
  resultFilename: string | null;
  label: string | null;
  disableTqdm: boolean;
  /** vLLM's ready check: 0 skips the untimed initial request (vLLM 0.33's default), else its retry budget. */
  readyCheckTimeoutS: number;
}

export class BenchArgsError extends Error {}

const VALUE_FLAGS = new Set([
  '--backend',
  '--base-url',
  '--host',
  '--port',
  '--endpoint',
  '--model',
  '--tokenizer',
  '--dataset-name',
  '--random-input-len',
  '--random-output-len',
  '--num-prompts',
  '--max-concurrency',
  '--request-rate',
  '--burstiness',
  '--seed',
  '--percentile-metrics',
  '--metric-percentiles',
  '--result-dir',
  '--result-filename',
  '--label',
  '--ready-check-timeout-sec',
]);
const BOOL_FLAGS = new Set(['--ignore-eos', '--save-result', '--save-detailed', '--disable-tqdm']);

function number(flag: string, value: string, integer: boolean): number {
  const n = Number(value);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n)))
    throw new BenchArgsError(`argument ${flag}: invalid ${integer ? 'int' : 'float'} value: '${value}'`);
  return n;
}

/** Parses the argv after `vllm bench serve`, with vLLM's defaults. */
export function parseBenchServeArgs(argv: readonly string[]): BenchServeArgs {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  const goodput: string[] = [];
  const unknown: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i]!;
    const eq = raw.indexOf('=');
    const flag = raw.startsWith('--') && eq > 0 ? raw.slice(0, eq) : raw;
    const inline = raw.startsWith('--') && eq > 0 ? raw.slice(eq + 1) : undefined;
    if (flag === '--goodput') {
      if (inline !== undefined) goodput.push(inline);
      while (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) goodput.push(argv[++i]!);
    } else if (VALUE_FLAGS.has(flag)) {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new BenchArgsError(`argument ${flag}: expected one argument`);
      values.set(flag, v);
    } else if (BOOL_FLAGS.has(flag)) flags.add(flag);
    else unknown.push(raw);
  }
  if (unknown.length > 0)
    throw new BenchArgsError(
      `unrecognized arguments: ${unknown.join(' ')} (the thorbench simulator's stand-in supports the random dataset only)`,
    );
  const backend = values.get('--backend') ?? 'vllm';
  if (backend !== 'vllm' && backend !== 'openai')
    throw new BenchArgsError(`argument --backend: the stand-in supports vllm and openai, not '${backend}'`);
  const dataset = values.get('--dataset-name') ?? 'random';
  if (dataset !== 'random')
    throw new BenchArgsError(`argument --dataset-name: the stand-in supports random only, not '${dataset}'`);
  const model = values.get('--model');
  if (!model) throw new BenchArgsError('the stand-in needs --model (it does not ask the server for one)');
  const rate = values.get('--request-rate') ?? 'inf';
  const slo: GoodputSlos = {};
  for (const item of goodput) {
    const [key, v] = item.split(':');
    const ms = number('--goodput', v ?? '', false);
    if (key === 'ttft' || key === 'tpot' || key === 'e2el') slo[key] = ms;
    else
      throw new BenchArgsError(
        `Invalid metric name found, ${key}: ${v}. The service level objective name should be one of ttft, tpot, e2el.`,
      );
  }
  const baseUrl =
    values.get('--base-url') ?? `http://${values.get('--host') ?? '127.0.0.1'}:${values.get('--port') ?? '8000'}`;
  return {
    baseUrl,
    endpoint: values.get('--endpoint') ?? '/v1/completions',
    model,
    tokenizer: values.get('--tokenizer') ?? null,
    inputLen: number('--random-input-len', values.get('--random-input-len') ?? '1024', true),
    outputLen: number('--random-output-len', values.get('--random-output-len') ?? '128', true),
    numPrompts: number('--num-prompts', values.get('--num-prompts') ?? '1000', true),
    maxConcurrency: values.has('--max-concurrency')
      ? number('--max-concurrency', values.get('--max-concurrency')!, true)
      : null,
    requestRate: rate === 'inf' ? Infinity : number('--request-rate', rate, false),
    burstiness: number('--burstiness', values.get('--burstiness') ?? '1.0', false),
    ignoreEos: flags.has('--ignore-eos'),
    seed: number('--seed', values.get('--seed') ?? '0', true),
    percentileMetrics: (values.get('--percentile-metrics') ?? 'ttft,tpot,itl').split(','),
    metricPercentiles: (values.get('--metric-percentiles') ?? '99')
      .split(',')
      .map((p) => number('--metric-percentiles', p, false)),
    goodput: goodput.length > 0 ? slo : null,
    saveResult: flags.has('--save-result'),
    saveDetailed: flags.has('--save-detailed'),
    resultDir: values.get('--result-dir') ?? null,
    resultFilename: values.get('--result-filename') ?? null,
    label: values.get('--label') ?? null,
    disableTqdm: flags.has('--disable-tqdm'),
    readyCheckTimeoutS: number('--ready-check-timeout-sec', values.get('--ready-check-timeout-sec') ?? '0', true),
  };
}

const pad = (label: string, value: string): string => `${label.padEnd(40)} ${value.padEnd(10)}`;
const f2 = (v: number): string => v.toFixed(2);

/** vLLM's printed "Serving Benchmark Result" block for a result JSON (serve.py's print statements). */
export function formatResultBlock(result: Record<string, unknown>, args: BenchServeArgs): string {
  const n = (key: string): number => Number(result[key] ?? 0);
  const lines = [centre(' Serving Benchmark Result ', '=')];
  lines.push(pad('Successful requests:', String(n('completed'))), pad('Failed requests:', String(n('failed'))));
  if (args.maxConcurrency !== null) lines.push(pad('Maximum request concurrency:', String(args.maxConcurrency)));
  if (args.requestRate !== Infinity) lines.push(pad('Request rate configured (RPS):', f2(args.requestRate)));
  lines.push(
    pad('Benchmark duration (s):', f2(n('duration'))),
    pad('Total input tokens:', String(n('total_input_tokens'))),
    pad('Total generated tokens:', String(n('total_output_tokens'))),
    pad('Request throughput (req/s):', f2(n('request_throughput'))),
  );
  if (args.goodput) lines.push(pad('Request goodput (req/s):', f2(n('request_goodput'))));
  lines.push(
    pad('Output token throughput (tok/s):', f2(n('output_throughput'))),
    pad('Peak output token throughput (tok/s):', f2(n('max_output_tokens_per_s'))),
    pad('Peak concurrent requests:', f2(n('max_concurrent_requests'))),
    pad('Total token throughput (tok/s):', f2(n('total_token_throughput'))),
  );
  const headers: Record<string, [string, string]> = {
    ttft: ['TTFT', 'Time to First Token'],
    tpot: ['TPOT', 'Time per Output Token (excl. 1st token)'],
    itl: ['ITL', 'Inter-token Latency'],
    e2el: ['E2EL', 'End-to-end Latency'],
  };
  for (const metric of LATENCY_METRICS) {
    if (!args.percentileMetrics.includes(metric)) continue;
    const [name, header] = headers[metric]!;
    lines.push(
      centre(header, '-'),
      pad(`Mean ${name} (ms):`, f2(n(`mean_${metric}_ms`))),
      pad(`Median ${name} (ms):`, f2(n(`median_${metric}_ms`))),
    );
    for (const p of args.metricPercentiles) {
      const key = percentileKey(metric, p);
      lines.push(pad(`P${key.slice(1, key.indexOf('_'))} ${name} (ms):`, f2(n(key))));
    }
  }
  lines.push('='.repeat(50));
  return `${lines.join('\n')}\n`;
}

/** Python's "{s:{c}^{n}}".format(s=text, n=50, c=char): centred, the odd fill character on the right. */
function centre(text: string, char: string): string {
  const fill = Math.max(0, 50 - text.length);
  const left = Math.floor(fill / 2);
  return `${char.repeat(left)}${text}${char.repeat(fill - left)}`;
}

/** tqdm's bar line for n of total after elapsedS. */
function progressLine(n: number, total: number, elapsedS: number): string {
  const pct = total > 0 ? Math.floor((n * 100) / total) : 100;
  const filled = total > 0 ? Math.floor((n * 10) / total) : 10;
  const rate = elapsedS > 0 ? n / elapsedS : 0;
  const clock = (s: number): string =>
    `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
  const left = rate > 0 ? clock((total - n) / rate) : '?';
  return `${String(pct).padStart(3)}%|${'█'.repeat(filled)}${' '.repeat(10 - filled)}| ${n}/${total} [${clock(elapsedS)}<${left}, ${rate.toFixed(2).padStart(6)}it/s]`;
}

/** vLLM's default result file name: `<backend>-<rate>qps[-concurrency<N>]-<model>-<date>.json`. */
function resultFileName(args: BenchServeArgs, date: string): string {
  if (args.resultFilename) return args.resultFilename;
  const rate = args.requestRate === Infinity ? 'inf' : String(args.requestRate);
  const conc = args.maxConcurrency !== null ? `-concurrency${args.maxConcurrency}` : '';
  return `vllm-${rate}qps${conc}-${path.basename(args.model)}-${date}.json`;
}

function pythonDate(d: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}${two(d.getMonth() + 1)}${two(d.getDate())}-${two(d.getHours())}${two(d.getMinutes())}${two(d.getSeconds())}`;
}

/**
 * Runs the benchmark. `hostPath` maps a path inside the container to where it lives on the simulator's host.
 * Returns the exit code (0, or 1 when the run could not start, like vLLM's uncaught ValueError).
 */
export async function runBenchServeStandIn(
  argv: readonly string[],
  io: CommandIO,
  hostPath: (p: string) => string,
  signal?: AbortSignal,
): Promise<number> {
  let args: BenchServeArgs;
  try {
    args = parseBenchServeArgs(argv);
  } catch (err) {
    if (!(err instanceof BenchArgsError)) throw err;
    io.err(`usage: vllm bench serve [options]\nvllm bench serve: error: ${err.message}\n`);
    return 2;
  }
  const date = pythonDate(new Date());
  io.out(
    "[thorbench simulator] vllm bench serve stand-in: real load on the simulated engine through thorbench's builtin load generator\n",
  );
  io.out(
    `Namespace(backend='vllm', base_url='${args.baseUrl}', model='${args.model}', num_prompts=${args.numPrompts}, max_concurrency=${args.maxConcurrency ?? 'None'})\n`,
  );
  io.out('Starting initial single prompt test run...\n');
  const readyCheck = args.readyCheckTimeoutS > 0;
  if (readyCheck) io.out(`Waiting for endpoint to become up in ${args.readyCheckTimeoutS} seconds\n`);
  else io.out('Skipping endpoint ready check.\n');
  const deadline = performance.now() + args.readyCheckTimeoutS * 1000;
  let started = performance.now();
  let lastDraw = 0;
  let load: Awaited<ReturnType<typeof runLoad>> | undefined;
  while (!load) {
    try {
      load = await runLoad({
        baseUrl: args.baseUrl,
        model: args.model,
        inputLen: args.inputLen,
        outputLen: args.outputLen,
        numPrompts: args.numPrompts,
        maxConcurrency: args.maxConcurrency ?? undefined,
        requestRate: args.requestRate === Infinity ? undefined : args.requestRate,
        burstiness: args.burstiness,
        seed: args.seed,
        ignoreEos: args.ignoreEos,
        initialRequest: readyCheck,
        signal,
        onStart: () => {
          started = performance.now();
          if (readyCheck) io.out('Initial test run completed.\n');
          io.out('Starting main benchmark run...\n');
          io.out(`Traffic request rate: ${args.requestRate === Infinity ? 'inf' : args.requestRate}\n`);
          io.out(
            `Burstiness factor: ${args.burstiness.toFixed(1)} (${args.burstiness === 1 ? 'Poisson process' : 'Gamma distribution'})\n`,
          );
          io.out(`Maximum request concurrency: ${args.maxConcurrency ?? 'None'}\n`);
          if (!args.disableTqdm) io.err(`\r${progressLine(0, args.numPrompts, 0)}`);
        },
        onProgress: (p) => {
          const now = performance.now();
          // tqdm redraws at most every 0.1 s, and always at the end.
          if (args.disableTqdm || (now - lastDraw < 100 && p.done < p.total)) return;
          lastDraw = now;
          io.err(`\r${progressLine(p.done, p.total, (now - started) / 1000)}`);
        },
      });
    } catch (err) {
      if (signal?.aborted) {
        io.err('Terminated\n');
        return 143;
      }
      if (!(err instanceof InitialRequestError)) throw err;
      io.err(`WARNING Endpoint is not ready. Error='${err.record.error ?? ''}'\n`);
      // vLLM retries every 5 s while its budget lasts (ready_checker.py), then fails the run.
      const remaining = deadline - performance.now();
      if (remaining > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(5000, remaining)));
      if (performance.now() >= deadline) {
        io.err(
          `ValueError: Initial test run failed - Please make sure benchmark arguments are correctly specified. Error: ${err.record.error}\n`,
        );
        return 1;
      }
    }
  }
  if (!args.disableTqdm) io.err('\n');

  const metrics = calculateMetrics(load.requests, {
    durationS: load.durationS,
    maxConcurrency: args.maxConcurrency ?? undefined,
    requestRate: args.requestRate,
    goodput: args.goodput ?? undefined,
    selectedPercentiles: args.metricPercentiles,
  }) as unknown as Record<string, unknown>;
  const schedule = arrivalSchedule({
    numPrompts: args.numPrompts,
    requestRate: args.requestRate,
    burstiness: args.burstiness,
    seed: args.seed,
  });
  const t0 = started / 1000;
  const result: Record<string, unknown> = {
    date,
    endpoint_type: 'vllm',
    backend: 'vllm',
    label: args.label,
    model_id: args.model,
    tokenizer_id: args.tokenizer ?? args.model,
    num_prompts: args.numPrompts,
    request_rate: args.requestRate === Infinity ? 'inf' : args.requestRate,
    burstiness: args.burstiness,
    max_concurrency: args.maxConcurrency,
    duration: metrics.duration,
    completed: metrics.completed,
    failed: metrics.failed,
    total_input_tokens: metrics.total_input_tokens,
    total_output_tokens: metrics.total_output_tokens,
    request_throughput: metrics.request_throughput,
    request_goodput: metrics.request_goodput,
    output_throughput: metrics.output_throughput,
    total_token_throughput: metrics.total_token_throughput,
    input_lens: load.requests.map((r) => r.promptLen),
    output_lens: load.requests.map((r) => r.outputTokens),
    ttfts: load.requests.map((r) => r.ttftS),
    itls: load.requests.map((r) => r.itlS),
    latencies: load.requests.map((r) => r.latencyS),
    start_times: load.requests.map((r) => t0 + r.startS),
    queue_times: load.requests.map((r, i) => Math.max(0, r.startS - (schedule[i] ?? 0))),
    generated_texts: load.requests.map((r) => r.generatedText ?? ''),
    errors: load.requests.map((r) => r.error ?? ''),
    max_output_tokens_per_s: metrics.max_output_tokens_per_s,
    max_concurrent_requests: metrics.max_concurrent_requests,
    rtfx: 0,
  };
  for (const metric of LATENCY_METRICS) {
    if (!args.percentileMetrics.includes(metric)) continue;
    for (const stat of ['mean', 'median', 'std']) result[`${stat}_${metric}_ms`] = metrics[`${stat}_${metric}_ms`];
    for (const p of args.metricPercentiles) {
      const key = percentileKey(metric, p);
      result[key] = metrics[key];
    }
  }
  const failures = load.requests.filter((r) => !r.success);
  if (failures.length > 0) {
    io.out('Failed requests during benchmark run detected (capping to 10):\n');
    for (const r of failures.slice(0, 10)) io.out(`Error: ${r.error}\n`);
  }
  io.out(formatResultBlock(result, args));
  if (args.saveResult || args.saveDetailed) {
    if (!args.saveDetailed)
      for (const key of [
        'input_lens',
        'output_lens',
        'ttfts',
        'itls',
        'latencies',
        'start_times',
        'queue_times',
        'generated_texts',
        'errors',
      ])
        delete result[key];
    const name = resultFileName(args, date);
    const file = args.resultDir ? path.posix.join(args.resultDir, name) : name;
    const hostFile = hostPath(file.startsWith('/') ? file : path.posix.join('/', file));
    fs.mkdirSync(path.dirname(hostFile), { recursive: true });
    fs.writeFileSync(hostFile, JSON.stringify(result));
  }
  return 0;
}
