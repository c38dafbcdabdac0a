/**
 * A device for workflow tests: the device activities the workflows call, implemented in memory, so a test shows
 * what the workflow does (order, sharding, skips, deadlines, cancellation, continue-as-new) in seconds. Each call is
 * logged, and hooks let a test hold a step open (a gate) or make it fail with a typed failure.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { type NativeConnection, Worker } from '@temporalio/worker';
import type { DeviceWorkerActivities, ClaimActivities } from '../../activities/index.js';
import type { EnsurePowerModeResult } from '../../activities/device.js';
import type { BenchmarkInput, BenchmarkResult } from '../../activities/harness.js';
import type { StartEngineInput, StartEngineResult } from '../../activities/engine.js';
import type { EngineFailureDetails } from '../../activities/failures.js';
import { calculateMetrics } from '../../metrics/calculate.js';
import type { Clocks, PowerModeSpec } from '../../schema/experiment.js';
import type { DeviceFacts, FailureType } from '../../schema/outcome.js';
import { DEVICE_CLAIM_TASK_QUEUE, deviceTaskQueue } from '../../workflows/task-queues.js';

/** Thor's power modes: id, name and power-gating group (a switch across groups needs a reboot). */
const MODES = [
  { id: 0, name: 'MAXN', group: 0 },
  { id: 1, name: '120W', group: 0 },
  { id: 2, name: '90W', group: 1 },
  { id: 3, name: '70W', group: 1 },
];

export interface Call {
  activity: string;
  input: unknown;
  at: number;
}

/** A step held open until the test releases it. */
export class Gate {
  private opened!: () => void;
  private entered!: () => void;
  /** Resolves when an activity reaches the gate. */
  readonly reached = new Promise<void>((r) => (this.entered = r));
  private readonly open = new Promise<void>((r) => (this.opened = r));

  /** Waits for release, heartbeating so the activity can be cancelled meanwhile. */
  async pass(): Promise<void> {
    this.entered();
    const ctx = Context.current();
    let released = false;
    void this.open.then(() => (released = true));
    while (!released) {
      ctx.heartbeat();
      if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  release(): void {
    this.opened();
  }
}

export interface MockDeviceOptions {
  powerModeId?: number;
  clocksLocked?: boolean;
  /** Model ids whose engine never becomes healthy (HealthTimeout at waitForHealth). */
  brokenModels?: string[];
  /** Model ids the device says it lacks when the sweep asks (checkModelsPresent): their cells fail as ModelNotFound. */
  missingModels?: string[];
  /** After a reboot the device comes back in the new mode (false: it never does). */
  rebootComesBack?: boolean;
  /** Power-gating groups by mode name, for a device that answers otherwise than Thor's table (MAXN/120W, 90W/70W). */
  powerGroups?: Record<string, number>;
  /** Held open before a benchmark of the given cell id ('*' for any) returns. */
  benchmarkGates?: Map<string, Gate>;
  /**
   * Latencies of a benchmark at its load (default 20 ms TTFT, 10 ms per further token at any load): a test of the
   * capacity search gives one where TTFT grows with concurrency, e.g. `latencyGrowingWith(…)`.
   */
  latency?: (scenario: BenchmarkInput['scenario'], repeat: number) => MockLatency;
  /** Called inside every activity before it returns (heartbeat while waiting in it). */
  onActivity?: (activity: string, input: unknown) => Promise<void>;
}

export class MockDevice {
  readonly calls: Call[] = [];
  powerModeId: number;
  clocksLocked: boolean;
  bootId = 'boot-1';
  /** Engine group of the running engine, if any. */
  engine: { containerName: string; group: string } | null = null;
  /** Engines started (not adopted), in order: their engine groups. */
  readonly engineStarts: string[] = [];

  constructor(
    readonly id: string,
    private readonly options: MockDeviceOptions = {},
  ) {
    this.powerModeId = options.powerModeId ?? 0;
    this.clocksLocked = options.clocksLocked ?? false;
  }

  called(activity: string): Call[] {
    return this.calls.filter((c) => c.activity === activity);
  }

  private log(activity: string, input: unknown = null): void {
    this.calls.push({ activity, input, at: Date.now() });
  }

  /** Wraps each activity so the test's hook runs inside it, after the call is logged. */
  private hooked<T extends Record<string, (...args: never[]) => Promise<unknown>>>(acts: T): T {
    const hook = this.options.onActivity;
    if (!hook) return acts;
    const wrapped: Record<string, (...args: never[]) => Promise<unknown>> = {};
    for (const [name, fn] of Object.entries(acts)) {
      wrapped[name] = async (...args: never[]) => {
        const out = await fn(...args);
        await hook(name, args[0] ?? null);
        return out;
      };
    }
    return wrapped as T;
  }

  private mode(id = this.powerModeId) {
    const mode = MODES.find((m) => m.id === id)!;
    return { ...mode, group: this.options.powerGroups?.[mode.name] ?? mode.group };
  }

  activities(): DeviceWorkerActivities {
    const facts = (): DeviceFacts => ({
      deviceId: this.id,
      simulated: true,
      model: 'NVIDIA Jetson AGX Thor Developer Kit (mock)',
      l4tRelease: 'R38.2.1',
      bootId: this.bootId,
      powerModeName: this.mode().name,
      powerModeId: this.powerModeId,
      clocksLocked: this.clocksLocked,
    });
    const acts = {
      describeDevice: async (): Promise<DeviceFacts> => {
        this.log('describeDevice');
        return facts();
      },
      readBackDevice: async () => {
        this.log('readBackDevice');
        const clocks = {
          locked: this.clocksLocked,
          gpuMhz: this.clocksLocked ? 1575 : 1000,
          gpuMaxMhz: 1575,
          emcMhz: 4266,
          emcMaxMhz: 4266,
          cpuMhz: [2601],
        };
        return { powerMode: { name: this.mode().name, id: this.powerModeId }, clocks, problems: [] };
      },
      flushCaches: async () => {
        this.log('flushCaches');
        return { flushed: true as const };
      },
      ensurePowerMode: async (input: { power: PowerModeSpec }): Promise<EnsurePowerModeResult> => {
        this.log('ensurePowerMode', input);
        const found = MODES.find((m) =>
          input.power.id !== undefined ? m.id === input.power.id : m.name === input.power.mode?.toUpperCase(),
        );
        const target = found && this.mode(found.id);
        if (!target)
          throw ApplicationFailure.nonRetryable(`no power mode ${JSON.stringify(input.power)}`, 'PowerModeUnavailable');
        const from = this.mode();
        const base = {
          from: { name: from.name, id: from.id },
          to: { name: target.name, id: target.id },
          bootId: this.bootId,
        };
        if (target.id === from.id) return { outcome: 'already', ...base };
        if (target.group !== from.group) return { outcome: 'reboot-required', ...base };
        this.powerModeId = target.id;
        this.clocksLocked = false; // nvpmodel -m undoes jetson_clocks
        return { outcome: 'switched', ...base };
      },
      switchPowerModeWithReboot: async (input: { modeId: number; bootIdBefore: string }) => {
        this.log('switchPowerModeWithReboot', input);
        if (this.options.rebootComesBack !== false) {
          this.powerModeId = input.modeId;
          this.clocksLocked = false;
          this.bootId = `boot-${Number(this.bootId.slice(5)) + 1}`;
          this.engine = null;
        }
        return { outcome: 'reboot-started' as const };
      },
      probeAfterReboot: async () => {
        this.log('probeAfterReboot');
        return { bootId: this.bootId, powerMode: { name: this.mode().name, id: this.powerModeId } };
      },
      ensureClocks: async (input: { clocks: Clocks }) => {
        this.log('ensureClocks', input);
        const locked = input.clocks === 'locked';
        const outcome =
          this.clocksLocked === locked ? ('already' as const) : locked ? ('locked' as const) : ('restored' as const);
        this.clocksLocked = locked;
        return { outcome, locked };
      },
      startEngine: async (input: StartEngineInput): Promise<StartEngineResult> => {
        this.log('startEngine', input);
        const containerName = `thorbench-${input.engineGroup}`;
        const adopted = this.engine?.group === input.engineGroup;
        const removedStale = this.engine && !adopted ? [this.engine.containerName] : [];
        this.engine = { containerName, group: input.engineGroup };
        if (!adopted) this.engineStarts.push(input.engineGroup);
        const facts = {
          image: input.engine.image,
          containerName,
          command: ['docker', 'run', containerName],
          exitCode: null,
          oomKilled: false,
          logTail: null,
        };
        return { containerName, started: !adopted, removedStale, facts };
      },
      waitForHealth: async (input: { containerName: string; servedName: string }) => {
        this.log('waitForHealth', input);
        const group = this.engine?.group ?? '';
        if ((this.options.brokenModels ?? []).some((m) => group.endsWith(`.${m}`))) {
          const details: EngineFailureDetails = {
            exitCode: null,
            oomKilled: false,
            logTail: 'loading weights\nstill loading',
          };
          throw ApplicationFailure.create({
            type: 'HealthTimeout' satisfies FailureType,
            message: `${input.containerName} never became ready`,
            nonRetryable: true,
            details: [details],
          });
        }
        return { ready: true as const, waitedMs: 0, version: '0.0.0+mock' };
      },
      warmup: async (input: { warmup: { numPrompts: number } }) => {
        this.log('warmup', input);
        return { completed: input.warmup.numPrompts, failed: 0 };
      },
      benchmark: async (input: BenchmarkInput): Promise<BenchmarkResult> => {
        this.log('benchmark', input);
        const gate = this.options.benchmarkGates?.get(input.cellId) ?? this.options.benchmarkGates?.get('*');
        if (gate) await gate.pass();
        return {
          metrics: mockMetrics(
            input.scenario.numPrompts,
            input.scenario.outputLen,
            this.options.latency?.(input.scenario, input.repeat),
          ),
          harness: { kind: 'builtin', command: ['mock-benchmark', input.cellId] },
          artifactsDir: `/tmp/mock-results/${input.sweepId}/${input.cellId}`,
          reused: false,
          energy: { status: 'unavailable', reason: 'mock device: no power rail' },
          thermal: null,
        };
      },
      checkEngineAlive: async () => ({ alive: true as const }),
      teardownEngine: async (input: { containerName: string }) => {
        this.log('teardownEngine', input);
        const removed = this.engine?.containerName === input.containerName;
        if (removed) this.engine = null;
        return { removed };
      },
      teardownAllEngines: async () => {
        this.log('teardownAllEngines');
        const removed = this.engine ? [this.engine.containerName] : [];
        this.engine = null;
        return { removed };
      },
      readBootId: async () => this.bootId,
    };
    // Asked by the sweep before any cell (not a step of a cell, so no test hook).
    const checkModelsPresent = async (input: { models: { id: string; path: string }[] }) => {
      this.log('checkModelsPresent', input);
      const missing = input.models.filter((m) => this.options.missingModels?.includes(m.id));
      return { deviceId: this.id, missing };
    };
    return { ...this.hooked(acts), checkModelsPresent } as unknown as DeviceWorkerActivities;
  }

  claimActivities(): ClaimActivities {
    return { claimDevice: async () => ({ deviceId: this.id, simulated: true }) };
  }

  /** This device's worker, one activity at a time like the real one; runs until `until` settles. */
  async run<T>(connection: NativeConnection, until: Promise<T>, opts: { claim?: boolean } = {}): Promise<T> {
    const device = await Worker.create({
      connection,
      taskQueue: deviceTaskQueue(this.id),
      activities: this.activities(),
      maxConcurrentActivityTaskExecutions: 1,
    });
    if (!opts.claim) return device.runUntil(until);
    const claim = await Worker.create({
      connection,
      taskQueue: DEVICE_CLAIM_TASK_QUEUE,
      activities: this.claimActivities(),
    });
    const [out] = await Promise.all([device.runUntil(until), claim.runUntil(until.catch(() => undefined))]);
    return out;
  }
}

/** Every request's time to first token and time per further token, in ms. */
export interface MockLatency {
  ttftMs: number;
  tpotMs: number;
}

/** A load where every request's TTFT is `baseTtftMs + perRequestMs · (concurrency − 1)`: p99 TTFT grows with load. */
export function latencyGrowingWith(
  baseTtftMs: number,
  perRequestMs: number,
): (s: { maxConcurrency?: number }) => MockLatency {
  return (s) => ({ ttftMs: baseTtftMs + perRequestMs * ((s.maxConcurrency ?? 1) - 1), tpotMs: 10 });
}

/** Real metrics (vLLM's definitions) over synthetic requests: by default 20 ms TTFT, 10 ms per further token. */
export function mockMetrics(numPrompts: number, outputLen: number, latency: MockLatency = { ttftMs: 20, tpotMs: 10 }) {
  const ttftS = latency.ttftMs / 1000;
  const tpotS = latency.tpotMs / 1000;
  const requests = Array.from({ length: Math.max(1, numPrompts) }, (_, i) => ({
    success: true,
    error: null,
    promptLen: 64,
    outputTokens: outputLen,
    ttftS,
    itlS: Array.from({ length: outputLen - 1 }, () => tpotS),
    latencyS: ttftS + tpotS * (outputLen - 1),
    startS: i * 0.001,
  }));
  return calculateMetrics(requests, { durationS: ttftS + tpotS * outputLen + numPrompts * 0.001 });
}
