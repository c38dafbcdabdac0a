/**
 * Harness activities: warm the engine up, then benchmark one cell and keep the raw material beside the results.
 *
 * The benchmark is idempotent per (sweep, cell): a finished run leaves `result.json` in the cell's artifact
 * directory, and a retried activity (its worker died after the run but before Temporal heard about it) returns
 * that result instead of benchmarking again. A half-written artifact from a killed predecessor is removed first.
 */
import { activityInfo } from '@temporalio/activity';
import { calculateMetrics } from '../metrics/calculate.js';
import { effectiveGoodput } from '../metrics/slo.js';
import { summarizeWindow } from '../metrics/telemetry-window.js';
import { cellArtifactsDir, readArtifact, removePartialArtifacts, writeArtifact } from '../store/artifacts.js';
import type { ScenarioSpec, WarmupSpec } from '../schema/experiment.js';
import { ScenarioSpec as ScenarioSpecSchema, WarmupSpec as WarmupSpecSchema } from '../schema/experiment.js';
import type { BenchmarkMetrics } from '../schema/metrics.js';
import type { EnergyStatus, ThermalSummary } from '../schema/outcome.js';
import { type DeviceProfile, engineHostPort } from './device-profile.js';
import type { EngineActivities } from './engine.js';
import { nonRetryable } from './failures.js';
import { runLoad } from './harness/loadgen.js';
import { runWarmup } from './harness/warmup.js';
import { activitySignal, beat } from './heartbeat.js';
import { startTelemetry } from './telemetry.js';

export interface EngineEndpoint {
  containerName: string;
  port: number;
  servedName: string;
}

export interface BenchmarkInput extends EngineEndpoint {
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
}

const RESULT_FILE = 'result.json';

/** The load parameters in `vllm bench serve` terms, recorded as the harness "command". */
function describeLoad(hostPort: number, endpoint: EngineEndpoint, s: ScenarioSpec, seed: number): string[] {
  const argv = [
    'thorbench-builtin',
    '--base-url', `http://127.0.0.1:${hostPort}`,
    '--model', endpoint.servedName,
    '--dataset-name', 'random',
    '--random-input-len', String(s.inputLen),
    '--random-output-len', String(s.outputLen),
    '--num-prompts', String(s.numPrompts),
    '--ignore-eos',
    '--seed', String(seed),
  ];
  if (s.maxConcurrency !== undefined) argv.push('--max-concurrency', String(s.maxConcurrency));
  if (s.requestRate !== undefined) argv.push('--request-rate', String(s.requestRate), '--burstiness', String(s.burstiness));
  return argv;
}

export function createHarnessActivities(profile: DeviceProfile, engine: EngineActivities) {
  return {
    /** Untimed requests that bring the engine to steady state (compile caches, CUDA graphs); results discarded. */
    async warmup(input: EngineEndpoint & { warmup: WarmupSpec }): Promise<{ completed: number; failed: number }> {
      const w = WarmupSpecSchema.parse(input.warmup);
      if (w.numPrompts === 0) return { completed: 0, failed: 0 };
      const res = await runWarmup({
        baseUrl: `http://127.0.0.1:${engineHostPort(profile, input.port)}`,
        model: input.servedName,
        inputLen: w.inputLen,
        outputLen: w.outputLen,
        numPrompts: w.numPrompts,
        maxConcurrency: w.maxConcurrency,
        signal: activitySignal(),
        onProgress: (p) => beat(p),
      });
      if (res.completed === 0) {
        await engine.checkEngineAlive({ containerName: input.containerName, during: 'during warm-up' });
        throw nonRetryable('BenchmarkFailed', `every warm-up request failed; first error: ${res.firstError ?? 'unknown'}`);
      }
      return { completed: res.completed, failed: res.failed };
    },

    async benchmark(input: BenchmarkInput): Promise<BenchmarkResult> {
      const scenario = ScenarioSpecSchema.parse(input.scenario);
      const dir = cellArtifactsDir(profile.resultsDir, input.sweepId, input.cellId);
      const seed = scenario.seed + (input.repeat - 1);
      const hostPort = engineHostPort(profile, input.port);
      const command = describeLoad(hostPort, input, scenario, seed);
      const previous = await readArtifact(dir, RESULT_FILE);
      if (previous && typeof previous === 'object' && 'metrics' in previous) {
        const p = previous as { metrics: BenchmarkMetrics; energy?: EnergyStatus; thermal?: ThermalSummary };
        const energy = p.energy ?? { status: 'unavailable', reason: 'reused a result recorded before energy status was kept' };
        const thermal = p.thermal ?? null;
        return { metrics: p.metrics, harness: { kind: 'builtin', command }, artifactsDir: dir, reused: true, energy, thermal };
      }
      await removePartialArtifacts(dir);

      const telemetry = startTelemetry(profile);
      // A sample on each side of the window: even a run shorter than the sampling period gets its energy.
      await telemetry.firstSample();
      let load: Awaited<ReturnType<typeof runLoad>>;
      let power: Awaited<ReturnType<typeof telemetry.stop>>;
      try {
        // Progress goes with the heartbeats; the device worker also re-sends it every second (activities/heartbeat.ts),
        // since with the guide's long TTFTs no request may finish for tens of seconds.
        load = await runLoad({
          baseUrl: `http://127.0.0.1:${hostPort}`,
          model: input.servedName,
          inputLen: scenario.inputLen,
          outputLen: scenario.outputLen,
          numPrompts: scenario.numPrompts,
          maxConcurrency: scenario.maxConcurrency,
          requestRate: scenario.requestRate,
          burstiness: scenario.burstiness,
          seed,
          ignoreEos: true,
          signal: activitySignal(),
          onProgress: (p) => beat(p),
        });
      } finally {
        power = await telemetry.stop({ trailingSample: true });
      }

      const failed = load.requests.filter((r) => !r.success);
      if (failed.length > 0) {
        // Requests that fail because the engine died are the engine's failure, not the benchmark's.
        await engine.checkEngineAlive({ containerName: input.containerName, during: `during the benchmark (${failed.length}/${load.requests.length} requests failed)` });
      }
      if (failed.length === load.requests.length) {
        throw nonRetryable('BenchmarkFailed', `all ${failed.length} requests failed; first error: ${failed[0]?.error ?? 'unknown'}`);
      }

      const metrics: BenchmarkMetrics = calculateMetrics(load.requests, {
        durationS: load.durationS,
        maxConcurrency: scenario.maxConcurrency,
        requestRate: scenario.requestRate,
        goodput: effectiveGoodput(undefined, scenario.goodput),
      });
      const window = summarizeWindow({
        samples: power.samples,
        telemetryError: power.error,
        startMs: load.startedAtMs,
        endMs: load.finishedAtMs,
        totalOutputTokens: metrics.total_output_tokens,
        durationS: metrics.duration,
      });
      Object.assign(metrics, window.metrics);

      await writeArtifact(dir, 'telemetry.json', { error: power.error, samples: power.samples });
      await writeArtifact(dir, 'requests.json', {
        input_lens: load.requests.map((r) => r.promptLen),
        output_lens: load.requests.map((r) => r.outputTokens),
        ttfts: load.requests.map((r) => r.ttftS),
        itls: load.requests.map((r) => r.itlS),
        errors: load.requests.map((r) => r.error ?? ''),
      });
      // Written last: its presence means the run finished (see the idempotency note above).
      await writeArtifact(dir, RESULT_FILE, {
        backend: 'thorbench-builtin',
        simulated: profile.simulated,
        device: profile.id,
        attempt: safeAttempt(),
        command,
        scenario,
        metrics,
        energy: window.energy,
        thermal: window.thermal,
      });
      const { energy, thermal } = window;
      return { metrics, harness: { kind: 'builtin', command }, artifactsDir: dir, reused: false, energy, thermal };
    },
  };
}

function safeAttempt(): number | null {
  try {
    return activityInfo().attempt;
  } catch {
    return null;
  }
}

export type HarnessActivities = ReturnType<typeof createHarnessActivities>;
