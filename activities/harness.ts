/**
 * Harness activities: warm the engine up, then benchmark one cell and keep the raw material beside the results.
 *
 * Two harnesses (`harness.kind`): `vllm` runs vLLM's own `vllm bench serve` inside the engine container (what the
 * guide's numbers come from) and reads every metric from the JSON it saves; `builtin` is thorbench's load generator
 * (activities/harness/loadgen.ts) with vLLM's metric definitions (metrics/calculate.ts).
 *
 * The benchmark is idempotent per (sweep, cell): a finished run leaves `result.json` in the cell's artifact
 * directory, and a retried activity (its worker died after the run but before Temporal heard about it) returns
 * that result instead of benchmarking again. A half-written artifact from a killed predecessor is removed first.
 */
import { activityInfo, log } from '@temporalio/activity';
import { calculateMetrics } from '../metrics/calculate.js';
import { requestArrays } from '../metrics/request-record.js';
import { effectiveGoodput, type GoodputSlos } from '../metrics/slo.js';
import { summarizeWindow } from '../metrics/telemetry-window.js';
import {
  cellArtifactsDir,
  readFinishedBenchmark,
  removePartialArtifacts,
  writeArtifact,
  writeBenchmarkResult,
} from '../store/artifacts.js';
import type { ScenarioSpec, WarmupSpec } from '../schema/experiment.js';
import { ScenarioSpec as ScenarioSpecSchema, WarmupSpec as WarmupSpecSchema } from '../schema/experiment.js';
import type { BenchmarkMetrics } from '../schema/metrics.js';
import type { EnergyStatus, ThermalSummary } from '../schema/outcome.js';
import { type DeviceProfile, engineHostPort } from './device-profile.js';
import type { EngineActivities } from './engine.js';
import { CommandError, runDevice, runDeviceStreaming } from './exec.js';
import { classifyCommandError, nonRetryable, retryable } from './failures.js';
import { scenarioLoad, type SeededLoad } from './harness/load-shape.js';
import { InitialRequestError, type LoadProgress, runLoad } from './harness/loadgen.js';
import {
  benchServeArgv,
  CONTAINER_RESULTS_DIR,
  loadRateArgs,
  MAIN_RUN_LINE,
  parseProgressLine,
  randomDatasetArgs,
  RESULT_HEADER_LINE,
} from './harness/vllm-bench-command.js';
import { describeReap, parseReapOutput, REAP_ARGV, type ReapReport } from './harness/reap-bench.js';
import { runWarmup, WARMUP_DEFAULT_SEED } from './harness/warmup.js';
import { parseBenchmarkBlock, parsePythonJson, parseSaveResultJson } from '../parsers/vllm-bench.js';
import { activitySignal, beat } from './heartbeat.js';
import { startTelemetry, type TelemetrySample } from './telemetry.js';

export interface EngineEndpoint {
  containerName: string;
  port: number;
  servedName: string;
}

/** The experiment's `harness` section as the activities need it. */
export interface HarnessConfig {
  kind: 'vllm' | 'builtin';
  /** vLLM's --metric-percentiles; metrics/slo.ts DEFAULT_PERCENTILES when absent. */
  percentiles?: number[];
  /** Goodput SLOs in ms for every scenario (a scenario's own `goodput` takes precedence). */
  goodput?: GoodputSlos;
}

/** Inputs recorded before the vllm harness existed carry no harness: they ran the builtin one. */
const LEGACY_HARNESS: HarnessConfig = { kind: 'builtin' };

export interface HarnessEndpoint extends EngineEndpoint {
  harness?: HarnessConfig;
  /** matrix.model[].path: the model directory under /models in the container, whose tokenizer vLLM's client loads. */
  modelPath?: string;
}

export interface BenchmarkInput extends HarnessEndpoint {
  sweepId: string;
  cellId: string;
  scenario: ScenarioSpec;
  /** 1-based repeat: shifts the prompt seed so a repeat does not hit the prefix cache its predecessor filled. */
  repeat: number;
}

export interface BenchmarkResult {
  metrics: BenchmarkMetrics;
  harness: { kind: string; command: string[] };
  artifactsDir: string;
  /** True when an earlier attempt had already finished and its result was reused. */
  reused: boolean;
  /** Energy over the benchmark window, or why there is none (metrics/telemetry-window.ts). */
  energy: EnergyStatus;
  thermal: ThermalSummary | null;
  /**
   * vllm harness: how many `vllm bench serve` processes an earlier attempt left running in the container were ended
   * before this run (activities/harness/reap-bench.ts); absent when the result was reused or the harness is builtin.
   */
  reapedLeftovers?: number;
}

/**
 * The benchmark's (and the warm-up's) heartbeat details, shown by the Web UI on the pending activity: requests
 * finished, of those failed, and in all. `failed` is null with the vllm harness: `vllm bench serve`'s progress bar
 * counts finished requests only, and its failures are known when it ends.
 */
export interface BenchmarkHeartbeat {
  done: number;
  failed: number | null;
  total: number;
}

/** vLLM's own JSON (with the per-request arrays of --save-detailed) and what it printed. */
const VLLM_RESULT_FILE = 'vllm-bench-result.json';
const VLLM_OUTPUT_FILE = 'vllm-bench-output.txt';
const OUTPUT_TAIL_LINES = 30;

/**
 * The image's vLLM has no `vllm bench serve`: vLLM before 0.10 answers "invalid choice: 'bench'" (argparse, exit 2),
 * an image without vLLM's CLI makes docker exec exit 127 (not found) or 126 (not executable).
 */
export function lacksBenchServe(exitCode: number, output: string): boolean {
  return exitCode === 126 || exitCode === 127 || /invalid choice: 'bench'/.test(output);
}

const NO_BENCH_SERVE_HINT =
  ' (this image\'s vLLM has no `vllm bench serve`, which vLLM 0.10 and later have: use such an image, or set harness.kind to "builtin")';

function tailLines(text: string, n = OUTPUT_TAIL_LINES): string {
  return text
    .split(/\r?\n|\r/)
    .filter((l) => l.trim() !== '')
    .slice(-n)
    .join('\n');
}

/** Where `vllm bench serve` inside the engine container sends its load, and the tokenizer it counts with. */
function benchTarget(input: HarnessEndpoint): { port: number; servedName: string; tokenizer: string } {
  if (!input.modelPath)
    throw nonRetryable(
      'InvalidExperiment',
      "the vllm harness needs the model path (matrix.model[].path) for vLLM's tokenizer",
    );
  return { port: input.port, servedName: input.servedName, tokenizer: `/models/${input.modelPath}` };
}

/**
 * The load parameters in `vllm bench serve` terms, recorded as the harness "command"; `hostPort` is where the
 * builtin harness reached the engine from the device (activities/device-profile.ts engineHostPort).
 */
function describeLoad(hostPort: number, endpoint: EngineEndpoint, load: SeededLoad): string[] {
  return [
    'thorbench-builtin',
    '--base-url',
    `http://127.0.0.1:${hostPort}`,
    '--model',
    endpoint.servedName,
    ...randomDatasetArgs(load),
    '--ignore-eos',
    '--seed',
    String(load.seed),
    ...loadRateArgs(load),
  ];
}

/** The reap waits REAP_GRACE_S (3 s) plus 2 s at most; docker exec itself may be slow to start on a busy device. */
const REAP_TIMEOUT_MS = 60_000;

/** A line for the worker's log; outside an activity (a test calling the function directly) there is none. */
function activityLog(message: string): void {
  try {
    log.warn(message);
  } catch {
    // Not in an activity: the cell's artifacts keep the line.
  }
}

/** vllm bench serve's own limit is the step's timeout (Temporal cancels the activity); this only bounds a hang. */
const BENCH_EXEC_TIMEOUT_MS = 7 * 24 * 3600 * 1000;

export function createHarnessActivities(profile: DeviceProfile, engine: EngineActivities) {
  const activities = {
    /** Untimed requests that bring the engine to steady state (compile caches, CUDA graphs); results discarded. */
    async warmup(input: HarnessEndpoint & { warmup: WarmupSpec }): Promise<{ completed: number; failed: number }> {
      const w = WarmupSpecSchema.parse(input.warmup);
      if (w.numPrompts === 0) return { completed: 0, failed: 0 };
      const harness = input.harness ?? LEGACY_HARNESS;
      if (harness.kind === 'vllm') return vllmWarmup(input, w);
      let res: Awaited<ReturnType<typeof runWarmup>>;
      try {
        res = await runWarmup({ ...builtinClient(input), ...w });
      } catch (err) {
        if (!(err instanceof InitialRequestError)) throw err;
        res = { completed: 0, failed: 1, firstError: err.record.error };
      }
      if (res.completed === 0) {
        await engine.checkEngineAlive({ containerName: input.containerName, during: 'during warm-up' });
        throw nonRetryable(
          'BenchmarkFailed',
          `every warm-up request failed; first error: ${res.firstError ?? 'unknown'}`,
        );
      }
      return { completed: res.completed, failed: res.failed };
    },

    async benchmark(input: BenchmarkInput): Promise<BenchmarkResult> {
      const scenario = ScenarioSpecSchema.parse(input.scenario);
      const harness = input.harness ?? LEGACY_HARNESS;
      const dir = cellArtifactsDir(profile.resultsDir, input.sweepId, input.cellId);
      const load = scenarioLoad(scenario, scenario.seed + (input.repeat - 1));
      const command =
        harness.kind === 'vllm'
          ? vllmArgv(input, scenario, load, harness)
          : describeLoad(engineHostPort(profile, input.port), input, load);
      const p = await readFinishedBenchmark(dir);
      if (p) {
        const energy = p.energy ?? {
          status: 'unavailable',
          reason: 'reused a result recorded before energy status was kept',
        };
        const reusedRun = { metrics: p.metrics, harness: { kind: harness.kind, command }, artifactsDir: dir };
        return { ...reusedRun, reused: true, energy, thermal: p.thermal ?? null };
      }
      await removePartialArtifacts(dir);
      // The first heartbeat says what is to come, before the client's first progress (the server may show only it
      // for the first 80 % of the heartbeat timeout).
      const failed = harness.kind === 'vllm' ? null : 0;
      beat({ done: 0, failed, total: scenario.numPrompts } satisfies BenchmarkHeartbeat);
      const run =
        harness.kind === 'vllm'
          ? await vllmBenchmark(input, command, dir)
          : await builtinBenchmark(input, scenario, load, harness);
      const { metrics, window, samples, telemetryError, reapedLeftovers } = run;
      const measured = summarizeWindow({
        samples,
        telemetryError,
        startMs: window.startMs,
        endMs: window.endMs,
        totalOutputTokens: metrics.total_output_tokens,
        durationS: metrics.duration,
      });
      Object.assign(metrics, measured.metrics);
      const { energy, thermal } = measured;

      await writeArtifact(dir, 'telemetry.json', { error: telemetryError, samples });
      await writeArtifact(dir, 'requests.json', run.requests);
      // Written last: its presence means the run finished (see the idempotency note above).
      await writeBenchmarkResult(dir, {
        backend: harness.kind === 'vllm' ? 'vllm' : 'thorbench-builtin',
        simulated: profile.simulated,
        device: profile.id,
        attempt: safeAttempt(),
        command,
        scenario,
        metrics,
        energy,
        thermal,
        reapedLeftovers,
      });
      const result = { metrics, harness: { kind: harness.kind, command }, artifactsDir: dir, reused: false };
      return { ...result, energy, thermal, reapedLeftovers };
    },
  };

  interface HarnessRun {
    metrics: BenchmarkMetrics;
    /** The timed window in epoch ms, for the energy integral. */
    window: { startMs: number; endMs: number };
    samples: TelemetrySample[];
    telemetryError: string | null;
    /** Per-request data kept as requests.json (vLLM's array names). */
    requests: Record<string, unknown[]>;
    /** vllm harness: leftover benchmarks of an earlier attempt ended before this run. */
    reapedLeftovers?: number;
  }

  /** Where the builtin harness sends its load from the device, with the activity's cancellation and heartbeats. */
  function builtinClient(input: HarnessEndpoint) {
    return {
      baseUrl: `http://127.0.0.1:${engineHostPort(profile, input.port)}`,
      model: input.servedName,
      signal: activitySignal(),
      onProgress: ({ done, failed, total }: LoadProgress) => beat({ done, failed, total } satisfies BenchmarkHeartbeat),
    };
  }

  async function builtinBenchmark(
    input: BenchmarkInput,
    scenario: ScenarioSpec,
    load: SeededLoad,
    harness: HarnessConfig,
  ): Promise<HarnessRun> {
    const telemetry = startTelemetry(profile);
    // A sample on each side of the window: even a run shorter than the sampling period gets its energy.
    await telemetry.firstSample();
    let run: Awaited<ReturnType<typeof runLoad>>;
    let power: Awaited<ReturnType<typeof telemetry.stop>>;
    try {
      // Progress goes with the heartbeats; the device worker also re-sends it every second (activities/heartbeat.ts),
      // since with the guide's long TTFTs no request may finish for tens of seconds.
      run = await runLoad({ ...builtinClient(input), ...load, ignoreEos: true });
    } catch (err) {
      if (!(err instanceof InitialRequestError)) throw err;
      await engine.checkEngineAlive({
        containerName: input.containerName,
        during: "during the benchmark's initial request",
      });
      throw nonRetryable('BenchmarkFailed', err.message);
    } finally {
      power = await telemetry.stop({ trailingSample: true });
    }

    const failed = run.requests.filter((r) => !r.success);
    if (failed.length > 0) {
      // Requests that fail because the engine died are the engine's failure, not the benchmark's.
      await engine.checkEngineAlive({
        containerName: input.containerName,
        during: `during the benchmark (${failed.length}/${run.requests.length} requests failed)`,
      });
    }
    if (failed.length === run.requests.length) {
      throw nonRetryable(
        'BenchmarkFailed',
        `all ${failed.length} requests failed; first error: ${failed[0]?.error ?? 'unknown'}`,
      );
    }
    const metrics: BenchmarkMetrics = calculateMetrics(run.requests, {
      durationS: run.durationS,
      maxConcurrency: scenario.maxConcurrency,
      requestRate: scenario.requestRate,
      goodput: effectiveGoodput(harness.goodput, scenario.goodput),
      selectedPercentiles: harness.percentiles,
    });
    return {
      metrics,
      window: { startMs: run.startedAtMs, endMs: run.finishedAtMs },
      samples: power.samples,
      telemetryError: power.error,
      requests: requestArrays(run.requests),
    };
  }

  function vllmArgv(input: BenchmarkInput, s: ScenarioSpec, load: SeededLoad, harness: HarnessConfig): string[] {
    return benchServeArgv({
      ...benchTarget(input),
      ...load,
      percentiles: harness.percentiles,
      goodput: effectiveGoodput(harness.goodput, s.goodput),
      resultFile: `${input.cellId}.json`,
    });
  }

  /** Runs `docker exec <engine> vllm bench serve ...`, heartbeating with its progress bar; typed failures. */
  async function execBench(containerName: string, argv: string[], during: string, onLine?: (line: string) => void) {
    const output: string[] = [];
    try {
      return await runDeviceStreaming(profile, [profile.commands.docker, 'exec', containerName, ...argv], {
        timeoutMs: BENCH_EXEC_TIMEOUT_MS,
        signal: activitySignal(),
        onLine: (line) => {
          output.push(line);
          if (output.length > 2 * OUTPUT_TAIL_LINES) output.splice(0, OUTPUT_TAIL_LINES);
          const progress = parseProgressLine(line);
          if (progress) beat({ done: progress.done, failed: null, total: progress.total } satisfies BenchmarkHeartbeat);
          onLine?.(line);
        },
      });
    } catch (err) {
      if (err instanceof CommandError && !err.timedOut && err.exitCode !== undefined) {
        await engine.checkEngineAlive({ containerName, during });
        const tail = tailLines(output.join('\n'));
        throw nonRetryable(
          'BenchmarkFailed',
          `vllm bench serve exited with ${err.exitCode} ${during}${lacksBenchServe(err.exitCode, tail) ? NO_BENCH_SERVE_HINT : ''}; last output:\n${tail}`,
        );
      }
      throw classifyCommandError(err);
    }
  }

  /**
   * Ends every `vllm bench serve` an earlier attempt left running in the container, so this run has the engine to
   * itself (activities/harness/reap-bench.ts), and logs what it ended. Failures are typed and say what to fix.
   */
  async function reapLeftovers(containerName: string, before: string): Promise<{ report: ReapReport; note: string }> {
    const shown = `docker exec ${containerName} python3 -c <thorbench's reap program>`;
    const res = await runDevice(profile, [profile.commands.docker, 'exec', containerName, ...REAP_ARGV], {
      timeoutMs: REAP_TIMEOUT_MS,
      allowFailure: true,
      signal: activitySignal(),
    }).catch((err: unknown) => {
      throw classifyCommandError(err);
    });
    const output = tailLines(`${res.stdout}\n${res.stderr}`, 5);
    if (res.exitCode !== 0) {
      await engine.checkEngineAlive({ containerName, during: before });
      throw nonRetryable(
        'CommandFailed',
        `cannot end leftover benchmarks ${before}: ${shown} exited with ${res.exitCode}: ${output}; the vllm harness ` +
          'needs python3 in the engine image (harness.kind "builtin" benchmarks an image without it)',
      );
    }
    const report = parseReapOutput(res.stdout);
    if (!report)
      throw nonRetryable('CommandFailed', `${shown} ${before} printed no report line; its output: ${output}`);
    if (report.left.length > 0) {
      throw retryable(
        'CommandFailed',
        `leftover vllm bench serve pid ${report.left.join(', ')} in ${containerName} survived SIGKILL ${before}; ` +
          `the step is retried; if this persists, remove the container (docker rm -f ${containerName}) so the ` +
          'engine starts afresh',
      );
    }
    const note = describeReap(report, containerName);
    if (note) activityLog(note);
    return { report, note: note ?? '' };
  }

  async function vllmBenchmark(input: BenchmarkInput, argv: string[], dir: string): Promise<HarnessRun> {
    const resultPath = `${CONTAINER_RESULTS_DIR}/${input.cellId}.json`;
    // Before the telemetry window: ending a leftover takes seconds and is no part of this run.
    const reap = await reapLeftovers(input.containerName, 'before the benchmark');
    const telemetry = startTelemetry(profile);
    await telemetry.firstSample();
    const window = { startMs: Date.now(), endMs: 0 };
    let run: Awaited<ReturnType<typeof execBench>>;
    let power: Awaited<ReturnType<typeof telemetry.stop>>;
    try {
      run = await execBench(input.containerName, argv, 'during the benchmark', (line) => {
        if (MAIN_RUN_LINE.test(line)) window.startMs = Date.now();
        else if (RESULT_HEADER_LINE.test(line) && window.endMs === 0) window.endMs = Date.now();
      });
    } finally {
      power = await telemetry.stop({ trailingSample: true });
    }
    if (window.endMs === 0) window.endMs = Date.now();
    const printed = `${run.stdout}${run.stderr ? `\n--- stderr ---\n${run.stderr}` : ''}`;
    await writeArtifact(dir, VLLM_OUTPUT_FILE, reap.note ? `[thorbench] ${reap.note}\n${printed}` : printed);

    const cat = await runDevice(profile, [profile.commands.docker, 'exec', input.containerName, 'cat', resultPath], {
      timeoutMs: 120_000,
      allowFailure: true,
    });
    if (cat.exitCode !== 0) {
      throw nonRetryable(
        'BenchmarkFailed',
        `vllm bench serve finished but saved no result at ${resultPath}: ${cat.stderr.trim()}; last output:\n${tailLines(run.stdout)}`,
      );
    }
    let saved: Record<string, unknown>;
    let metrics: BenchmarkMetrics;
    try {
      saved = parsePythonJson(cat.stdout) as Record<string, unknown>;
      metrics = parseSaveResultJson(saved);
    } catch (err) {
      throw nonRetryable(
        'BenchmarkFailed',
        `vllm bench serve saved an unreadable result at ${resultPath}: ${(err as Error).message}`,
      );
    }
    await writeArtifact(dir, VLLM_RESULT_FILE, saved);
    const errors = Array.isArray(saved.errors) ? (saved.errors as unknown[]) : [];
    if (metrics.failed > 0) {
      await engine.checkEngineAlive({
        containerName: input.containerName,
        during: `during the benchmark (${metrics.failed} requests failed)`,
      });
    }
    if (metrics.completed === 0) {
      const first = errors.find((e) => typeof e === 'string' && e !== '');
      throw nonRetryable(
        'BenchmarkFailed',
        `all ${metrics.failed} requests failed; first error: ${String(first ?? 'unknown')}`,
      );
    }
    const arrays: Record<string, unknown[]> = {};
    for (const key of ['input_lens', 'output_lens', 'ttfts', 'itls', 'latencies', 'start_times', 'errors']) {
      if (Array.isArray(saved[key])) arrays[key] = saved[key] as unknown[];
    }
    const reapedLeftovers = reap.report.found.length;
    return { metrics, window, samples: power.samples, telemetryError: power.error, requests: arrays, reapedLeftovers };
  }

  /** The warm-up through vLLM's client too: same tool, its own seed, nothing saved. */
  async function vllmWarmup(input: HarnessEndpoint, w: WarmupSpec): Promise<{ completed: number; failed: number }> {
    const argv = benchServeArgv({ ...benchTarget(input), ...w, seed: WARMUP_DEFAULT_SEED, percentiles: [99] });
    await reapLeftovers(input.containerName, 'before the warm-up');
    const run = await execBench(input.containerName, argv, 'during warm-up');
    let block: ReturnType<typeof parseBenchmarkBlock>;
    try {
      block = parseBenchmarkBlock(run.stdout);
    } catch (err) {
      throw nonRetryable(
        'BenchmarkFailed',
        `vllm bench serve printed no result for the warm-up: ${(err as Error).message}`,
      );
    }
    const failed = block.failed ?? 0;
    if (block.completed === 0) {
      await engine.checkEngineAlive({ containerName: input.containerName, during: 'during warm-up' });
      throw nonRetryable('BenchmarkFailed', `every warm-up request failed; last output:\n${tailLines(run.stdout)}`);
    }
    return { completed: block.completed, failed };
  }

  return activities;
}

/** The activity's attempt, or null outside an activity (a test calling the function directly). */
export function safeAttempt(): number | null {
  try {
    return activityInfo().attempt;
  } catch {
    return null;
  }
}

export type HarnessActivities = ReturnType<typeof createHarnessActivities>;
