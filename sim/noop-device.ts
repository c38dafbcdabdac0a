/**
 * The simulated Thor's no-op mode (`THORBENCH_SIM_NOOP=1`, sim/README.md): the device activities under their own
 * names and signatures, each answering at once, so that a sweep of thousands of cells goes through the real
 * workflows, task queues, results store and continue-as-new in minutes. It measures and tests what thorbench itself
 * costs (`npm run bench:orchestration`); it says nothing about a device.
 *
 * - Power mode and clocks are the simulated device's state (sim/sim-state.ts), changed in place instead of by
 *   nvpmodel and jetson_clocks processes. A switch across power-gating masks still asks for a reboot, and the reboot
 *   gives the device a new boot id in the new mode at once (without killing the worker).
 * - The engine is a record without a process: the next cell of its group adopts it (so warm-up is skipped as for a
 *   loaded engine), its health answers at once, a warm-up sends nothing.
 * - The benchmark runs the scenario in virtual time (sim/virtual-run.ts: the simulator's scheduler and latency model,
 *   at the device's power mode and clocks) and computes vLLM's metrics from those request records
 *   (metrics/calculate.ts). It writes result.json and requests.json like a real run, returns an earlier attempt's
 *   result.json instead of running again, and has no telemetry, so energy is "unavailable".
 * Marked as simulated like the full simulator; besides, the harness command is `thorbench-sim-noop`, result.json
 * says `"noop": true` and the engine version ends in `.noop`. Engine faults are not simulated; missing models are.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { DeviceWorkerActivities } from '../activities/index.js';
import { type DeviceProfile, devicePath } from '../activities/device-profile.js';
import type { EnsurePowerModeResult } from '../activities/device.js';
import { buildEngineLaunch } from '../activities/engine-command.js';
import { clocksStoreFile } from '../activities/exec.js';
import { nonRetryable } from '../activities/failures.js';
import { type BenchmarkResult, safeAttempt } from '../activities/harness.js';
import { heartbeating } from '../activities/heartbeat.js';
import { createModelActivities, missingModels } from '../activities/models.js';
import { calculateMetrics } from '../metrics/calculate.js';
import { requestArrays } from '../metrics/request-record.js';
import { effectiveGoodput } from '../metrics/slo.js';
import { summarizeWindow } from '../metrics/telemetry-window.js';
import {
  clocksReadBack,
  imageDigest,
  parseDockerImageInspect,
  parseJetsonClocksShow,
  parseNvTegraRelease,
} from '../parsers/thor.js';
import {
  EngineSpec,
  ModelSpec,
  PowerModeSpec,
  type Quantization,
  Clocks as ClocksSchema,
  ScenarioSpec,
  WarmupSpec,
} from '../schema/experiment.js';
import type { BenchmarkMetrics } from '../schema/metrics.js';
import type { EnergyStatus } from '../schema/outcome.js';
import {
  cellArtifactsDir,
  readFinishedBenchmark,
  removePartialArtifacts,
  writeArtifact,
  writeBenchmarkResult,
} from '../store/artifacts.js';
import { renderDeviceFiles } from './device-files.js';
import { imageInspectObject } from './docker-format.js';
import { simulatedVllmVersion } from './engine-args.js';
import { latencyParams } from './latency-model.js';
import { simLayout } from './layout.js';
import { hashString } from './prng.js';
import { type SimState, readDeviceState, updateDeviceState } from './sim-state.js';
import { THOR_MACHINE, renderClocksShow, thorClocks } from './thor-clocks.js';
import { THOR_POWER_MODES, needsReboot, requirePowerMode } from './thor-power-modes.js';
import { runVirtual } from './virtual-run.js';

/** What the harness command of a no-op benchmark starts with (reports show it). */
export const NOOP_HARNESS = 'thorbench-sim-noop';

/** The engine "running" on the device: a name and the configuration it was started with. */
interface NoopEngine {
  containerName: string;
  configHash: string;
  image: string;
  /** The model's quantization and path: which latency calibration its benchmark follows. */
  quantization: Quantization;
  modelPath: string;
}

export function createNoopDeviceActivities(profile: DeviceProfile): DeviceWorkerActivities {
  if (!profile.simDir) throw new Error(`device ${profile.id} is not simulated: the no-op mode is the simulator's`);
  const layout = simLayout(profile.simDir);
  const state = (): SimState => readDeviceState(layout);
  /** Changes the device state and the device files that follow from it (boot id, power mode, clocks). */
  const change = (fn: (s: SimState) => void): SimState => {
    const s = updateDeviceState(layout, fn);
    renderDeviceFiles(layout, s);
    return s;
  };
  const mode = (id: number) => {
    const m = requirePowerMode(id);
    return { name: m.name, id: m.id };
  };
  // Gone with the worker, like a container whose device rebooted: the next startEngine starts one again.
  let engine: NoopEngine | null = null;
  const requireEngine = (containerName: string, during: string): NoopEngine => {
    if (engine?.containerName === containerName) return engine;
    throw nonRetryable('EngineCrashed', `no-op engine ${containerName} is not running (${during})`);
  };
  const release = readFile(devicePath(profile, '/etc/nv_tegra_release'), 'utf8').then(parseNvTegraRelease);

  const activities: DeviceWorkerActivities = {
    async describeDevice() {
      const s = state();
      const r = await release;
      const m = mode(s.powerModeId);
      return {
        deviceId: profile.id,
        simulated: true,
        model: THOR_MACHINE,
        l4tRelease: `${r.release}.${r.revision}`,
        bootId: s.bootId,
        powerModeName: m.name,
        powerModeId: m.id,
        clocksLocked: s.clocks.locked,
      };
    },
    async readBootId() {
      return state().bootId;
    },
    async readBackDevice() {
      const s = state();
      const show = renderClocksShow(
        thorClocks(requirePowerMode(s.powerModeId), s.clocks.locked, false, s.clocks.fanMax),
      );
      return { powerMode: mode(s.powerModeId), clocks: clocksReadBack(parseJetsonClocksShow(show)), problems: [] };
    },
    async flushCaches() {
      change((s) => {
        s.dropCaches = { count: s.dropCaches.count + 1, lastAt: new Date().toISOString() };
      });
      return { flushed: true as const };
    },
    async ensurePowerMode(input): Promise<EnsurePowerModeResult> {
      const power = PowerModeSpec.parse(input.power);
      const target = THOR_POWER_MODES.find((m) =>
        power.id !== undefined ? m.id === power.id : m.name.toLowerCase() === power.mode!.toLowerCase(),
      );
      if (!target)
        throw nonRetryable(
          'PowerModeUnavailable',
          `power mode ${power.mode ?? power.id} does not exist on this device`,
        );
      const s = state();
      const from = mode(s.powerModeId);
      const to = mode(target.id);
      if (from.id === to.id) return { outcome: 'already', from, to, bootId: s.bootId };
      if (needsReboot(from.id, to.id) || (s.faults.rebootRequiredModes ?? []).includes(to.id))
        return { outcome: 'reboot-required', from, to, bootId: s.bootId };
      // nvpmodel -m undoes jetson_clocks.
      const now = change((d) => {
        d.powerModeId = to.id;
        d.clocks.locked = false;
      });
      return { outcome: 'switched', from, to, bootId: now.bootId };
    },
    async switchPowerModeWithReboot(input) {
      const s = state();
      if (s.bootId !== input.bootIdBefore) return { outcome: 'rebooted' as const };
      if (s.powerModeId === input.modeId) return { outcome: 'already' as const };
      requirePowerMode(input.modeId);
      change((d) => {
        d.bootId = randomUUID();
        d.bootedAt = new Date().toISOString();
        d.bootCount++;
        d.powerModeId = input.modeId;
        d.pendingPowerModeId = null;
        d.clocks.locked = false;
      });
      engine = null;
      return { outcome: 'reboot-started' as const };
    },
    async probeAfterReboot() {
      const s = state();
      return { bootId: s.bootId, powerMode: mode(s.powerModeId) };
    },
    async ensureClocks(input) {
      const clocks = ClocksSchema.parse(input.clocks);
      const want = clocks === 'locked';
      if (state().clocks.locked === want) return { outcome: 'already' as const, locked: want };
      change((d) => {
        if (want)
          d.clocks.stored = {
            file: clocksStoreFile(profile),
            locked: false,
            powerModeId: d.powerModeId,
            at: new Date().toISOString(),
          };
        d.clocks.locked = want;
      });
      return { outcome: want ? ('locked' as const) : ('restored' as const), locked: want };
    },
    async startEngine(input) {
      const spec = EngineSpec.parse(input.engine);
      const model = ModelSpec.parse(input.model);
      const launch = buildEngineLaunch({ ...input, engine: spec, model, simulated: true });
      const inspect = JSON.stringify([imageInspectObject(spec.image)]);
      const facts = (startedForCell: boolean) => ({
        image: spec.image,
        containerName: launch.containerName,
        command: [profile.commands.docker, ...launch.dockerArgs],
        exitCode: null,
        oomKilled: false,
        logTail: null,
        imageDigest: imageDigest(parseDockerImageInspect(inspect), spec.image),
        startedForCell,
      });
      if (engine?.containerName === launch.containerName && engine.configHash === launch.configHash)
        return { containerName: launch.containerName, started: false, removedStale: [], facts: facts(false) };
      const removedStale = engine ? [engine.containerName] : [];
      engine = null;
      if ((await missingModels(profile, spec.modelsDir, [model])).length > 0)
        throw nonRetryable('ModelNotFound', `model ${model.path} is not on the simulated device ${profile.id}`);
      engine = {
        containerName: launch.containerName,
        configHash: launch.configHash,
        image: spec.image,
        quantization: model.quantization,
        modelPath: model.path,
      };
      return { containerName: launch.containerName, started: true, removedStale, facts: facts(true) };
    },
    async waitForHealth(input) {
      const running = requireEngine(input.containerName, 'while loading');
      return { ready: true as const, waitedMs: 0, version: `${simulatedVllmVersion(running.image)}.noop` };
    },
    async checkEngineAlive(input) {
      requireEngine(input.containerName, input.during);
      return { alive: true as const };
    },
    async teardownEngine(input) {
      const removed = engine?.containerName === input.containerName;
      if (removed) engine = null;
      return { removed };
    },
    async teardownAllEngines() {
      const removed = engine ? [engine.containerName] : [];
      engine = null;
      return { removed };
    },
    async warmup(input) {
      const w = WarmupSpec.parse(input.warmup);
      requireEngine(input.containerName, 'during warm-up');
      return { completed: w.numPrompts, failed: 0 };
    },
    async benchmark(input): Promise<BenchmarkResult> {
      const scenario = ScenarioSpec.parse(input.scenario);
      const harness = input.harness ?? { kind: 'builtin' as const };
      const dir = cellArtifactsDir(profile.resultsDir, input.sweepId, input.cellId);
      const seed = scenario.seed + (input.repeat - 1);
      const command = [NOOP_HARNESS, '--virtual-time', '--scenario', JSON.stringify(scenario), '--seed', String(seed)];
      const previous = await readFinishedBenchmark(dir);
      const energy: EnergyStatus = { status: 'unavailable', reason: 'no-op simulator: no telemetry' };
      const result = { harness: { kind: harness.kind, command }, artifactsDir: dir, energy, thermal: null };
      if (previous?.metrics) return { ...result, metrics: previous.metrics, reused: true };
      const running = requireEngine(input.containerName, 'during the benchmark');
      await removePartialArtifacts(dir);

      const s = state();
      const params = latencyParams({
        quantization: running.quantization,
        powerModeId: s.powerModeId,
        clocksLocked: s.clocks.locked,
        modelPath: running.modelPath,
        image: running.image,
      });
      const run = runVirtual(
        params,
        { ...scenario, seed, ignoreEos: true },
        { jitter: 0.03, jitterSeed: hashString(`${input.sweepId}/${input.cellId}`) },
      );
      const metrics: BenchmarkMetrics = calculateMetrics(run.records, {
        durationS: run.durationS,
        maxConcurrency: scenario.maxConcurrency,
        requestRate: scenario.requestRate,
        goodput: effectiveGoodput(harness.goodput, scenario.goodput),
        selectedPercentiles: harness.percentiles,
      });
      Object.assign(
        metrics,
        summarizeWindow({
          samples: [],
          telemetryError: energy.reason,
          startMs: 0,
          endMs: run.durationS * 1000,
          totalOutputTokens: metrics.total_output_tokens,
          durationS: metrics.duration,
        }).metrics,
      );
      await writeArtifact(dir, 'requests.json', requestArrays(run.records));
      await writeBenchmarkResult(dir, {
        backend: NOOP_HARNESS,
        simulated: true,
        noop: true,
        device: profile.id,
        attempt: safeAttempt(),
        command,
        scenario,
        metrics,
        energy,
        thermal: null,
      });
      return { ...result, metrics, reused: false };
    },
    ...createModelActivities(profile),
  };
  return heartbeating(activities);
}
