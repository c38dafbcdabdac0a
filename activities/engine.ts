/**
 * Engine lifecycle: start (or adopt) the vLLM container, wait until it serves, tear it down, and explain how it
 * died. Only one thorbench engine runs on a device at a time: starting one removes every other container carrying
 * the `thorbench.managed` label, which is also how a restarted step cleans up after its killed predecessor.
 */
import path from 'node:path';
import { imageDigest, parseDockerImageInspect, parseDockerInspect } from '../parsers/thor.js';
import { EngineSpec as EngineSpecSchema, ModelSpec as ModelSpecSchema } from '../schema/experiment.js';
import type { EngineSpec, ModelSpec } from '../schema/experiment.js';
import type { EngineFacts } from '../schema/outcome.js';
import { type DeviceProfile, engineHostPort } from './device-profile.js';
import { buildEngineLaunch } from './engine-command.js';
import { runDevice } from './exec.js';
import { type EngineFailureDetails, classified, nonRetryable, retryable } from './failures.js';
import { activitySignal, beat } from './heartbeat.js';
import { missingModels } from './models.js';

const DOCKER_QUICK_MS = 60_000;
const LOG_TAIL_LINES = 40;

export interface StartEngineInput {
  sweepId: string;
  cellId: string;
  engineGroup: string;
  engine: EngineSpec;
  model: ModelSpec;
}

export interface StartEngineResult {
  containerName: string;
  /** false when a healthy-looking container with the same configuration was adopted. */
  started: boolean;
  removedStale: string[];
  facts: EngineFacts;
}

export interface WaitForHealthInput {
  containerName: string;
  port: number;
  servedName: string;
  timeoutMs: number;
  pollMs?: number;
}

export interface ContainerState {
  exists: boolean;
  running: boolean;
  exitCode: number | null;
  oomKilled: boolean;
  labels: Record<string, string>;
}

/** vLLM's `/version`, recorded with each cell so numbers can be tied to the engine build that produced them. */
async function engineVersion(base: string): Promise<string | null> {
  try {
    const res = await fetch(`${base}/version`, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) return null;
    const body = (await res.json()) as { version?: unknown };
    return typeof body.version === 'string' ? body.version : null;
  } catch {
    return null;
  }
}

export function createEngineActivities(profile: DeviceProfile) {
  const docker = (args: string[], timeoutMs = DOCKER_QUICK_MS, allowFailure = false) =>
    runDevice(profile, [profile.commands.docker, ...args], { timeoutMs, allowFailure, signal: activitySignal() });

  async function inspect(name: string): Promise<ContainerState> {
    const res = await docker(['inspect', name], DOCKER_QUICK_MS, true);
    if (res.exitCode !== 0) {
      if (/no such (object|container)/i.test(res.stderr))
        return { exists: false, running: false, exitCode: null, oomKilled: false, labels: {} };
      throw retryable('CommandFailed', `docker inspect ${name} failed: ${res.stderr.trim()}`);
    }
    const s = parseDockerInspect(res.stdout);
    return {
      exists: true,
      running: s.running,
      exitCode: s.running ? null : s.exitCode,
      oomKilled: s.oomKilled,
      labels: s.labels,
    };
  }

  async function logTail(name: string, lines = LOG_TAIL_LINES): Promise<string | null> {
    const res = await docker(['logs', '--tail', String(lines), name], DOCKER_QUICK_MS, true);
    if (res.exitCode !== 0) return null;
    // docker logs replays the container's stdout and stderr on the matching streams.
    return `${res.stdout}${res.stderr}`.trimEnd() || null;
  }

  async function remove(name: string): Promise<void> {
    const res = await docker(['rm', '-f', name], DOCKER_QUICK_MS, true);
    if (res.exitCode !== 0 && !/no such container/i.test(res.stderr)) {
      // A container docker cannot remove now (busy, daemon restarting) may go on a retry.
      throw retryable('CommandFailed', `docker rm -f ${name} failed: ${res.stderr.trim()}`);
    }
  }

  /** The digest of the image an engine runs (provenance of every record); null when docker cannot say. */
  async function digestOf(image: string): Promise<string | null> {
    const res = await docker(['image', 'inspect', image], DOCKER_QUICK_MS, true);
    if (res.exitCode !== 0) return null;
    try {
      return imageDigest(parseDockerImageInspect(res.stdout), image);
    } catch {
      return null;
    }
  }

  async function managedContainers(): Promise<string[]> {
    const res = await docker(['ps', '-a', '--filter', 'label=thorbench.managed=true', '--format', '{{.Names}}']);
    return res.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
  }

  /** Why an engine is gone, as a typed, non-retryable failure carrying exit status and log tail. */
  async function engineDied(name: string, during: string): Promise<never> {
    const state = await inspect(name);
    const tail = await logTail(name);
    const details: EngineFailureDetails = { exitCode: state.exitCode, oomKilled: state.oomKilled, logTail: tail };
    if (!state.exists) throw nonRetryable('EngineCrashed', `engine container ${name} disappeared ${during}`, details);
    if (state.oomKilled || state.exitCode === 137) {
      throw nonRetryable(
        'EngineOOMKilled',
        `engine ${name} was killed (exit ${state.exitCode}, OOMKilled=${state.oomKilled}) ${during}: the model does not fit; lower gpuMemoryUtilization or maxModelLen`,
        details,
      );
    }
    if (
      tail &&
      /No such file or directory: '\/models|Invalid repository ID or local directory|does not appear to have a file named config\.json|Repo id must be|not a valid model/i.test(
        tail,
      )
    ) {
      throw nonRetryable(
        'ModelNotFound',
        `engine ${name} could not load the model ${during}; check matrix.model[].path against engine.modelsDir`,
        details,
      );
    }
    const cudaOom =
      tail && /CUDA out of memory|OutOfMemoryError|cudaErrorMemoryAllocation/.test(tail) ? ' (CUDA out of memory)' : '';
    throw nonRetryable('EngineCrashed', `engine ${name} exited with ${state.exitCode}${cudaOom} ${during}`, details);
  }

  return {
    /**
     * Starts the engine for a cell, or adopts the one already running with the same configuration hash (a step
     * retried after its worker died, or the next cell of the same model group). Anything else thorbench left
     * running is removed first: benchmarks must never share the device.
     */
    async startEngine(input: StartEngineInput): Promise<StartEngineResult> {
      const engine = EngineSpecSchema.parse(input.engine);
      const model = ModelSpecSchema.parse(input.model);
      return classified(async () => {
        const launch = buildEngineLaunch({ ...input, engine, model, simulated: profile.simulated });
        const facts = async (startedForCell: boolean): Promise<EngineFacts> => ({
          image: engine.image,
          containerName: launch.containerName,
          command: [profile.commands.docker, ...launch.dockerArgs],
          exitCode: null,
          oomKilled: false,
          logTail: null,
          imageDigest: await digestOf(engine.image),
          startedForCell,
        });
        const removedStale: string[] = [];
        for (const name of await managedContainers()) {
          if (name === launch.containerName) {
            const state = await inspect(name);
            if (state.running && state.labels['thorbench.config-hash'] === launch.configHash) {
              return { containerName: name, started: false, removedStale, facts: await facts(false) };
            }
          }
          await remove(name);
          removedStale.push(name);
        }
        // Checked before anything starts (the simulated Thor answers from its missingModels fault).
        if ((await missingModels(profile, engine.modelsDir, [model])).length > 0) {
          const hostPath = path.join(engine.modelsDir, model.path);
          throw nonRetryable(
            'ModelNotFound',
            `model directory ${hostPath} does not exist on device ${profile.id}; ` +
              'download it or fix matrix.model[].path / engine.modelsDir',
          );
        }
        // Pulling an image can take many minutes; the device worker heartbeats every activity meanwhile.
        const res = await docker(launch.dockerArgs, 60 * 60_000, true);
        if (res.exitCode !== 0) {
          if (/Unable to find image|pull access denied|manifest unknown|not found: manifest/i.test(res.stderr)) {
            throw nonRetryable('CommandFailed', `docker could not get image ${engine.image}: ${res.stderr.trim()}`);
          }
          throw retryable('CommandFailed', `docker run failed (exit ${res.exitCode}): ${res.stderr.trim()}`);
        }
        return { containerName: launch.containerName, started: true, removedStale, facts: await facts(true) };
      });
    },

    /**
     * Ready = the container runs, `/health` answers 200 and `/v1/models` lists the served name (vLLM binds its
     * port only after loading, and /v1/models can answer while the engine is unhealthy, so both are checked).
     * A container that exits while we wait is an engine failure, not a timeout.
     */
    async waitForHealth(input: WaitForHealthInput): Promise<{ ready: true; waitedMs: number; version: string | null }> {
      const started = Date.now();
      const pollMs = input.pollMs ?? 1_000;
      const base = `http://127.0.0.1:${engineHostPort(profile, input.port)}`;
      const signal = activitySignal();
      let lastProblem = 'no answer yet';
      while (Date.now() - started < input.timeoutMs) {
        if (signal.aborted) throw signal.reason ?? new Error('cancelled');
        beat({ waitedMs: Date.now() - started, lastProblem });
        const state = await classified(() => inspect(input.containerName));
        if (!state.running) await engineDied(input.containerName, 'while loading');
        try {
          const health = await fetch(`${base}/health`, { signal: AbortSignal.timeout(5_000) });
          if (health.status === 200) {
            const models = await fetch(`${base}/v1/models`, { signal: AbortSignal.timeout(5_000) });
            const body = (await models.json()) as { data?: { id?: string }[] };
            if (body.data?.some((m) => m.id === input.servedName))
              return { ready: true, waitedMs: Date.now() - started, version: await engineVersion(base) };
            lastProblem = `/v1/models does not list "${input.servedName}" (it lists ${JSON.stringify(body.data?.map((m) => m.id) ?? [])})`;
          } else {
            lastProblem = `/health answered ${health.status}`;
          }
        } catch (err) {
          lastProblem = `/health: ${(err as Error).message}`;
        }
        await new Promise((r) => setTimeout(r, pollMs));
      }
      const tail = await classified(() => logTail(input.containerName));
      throw nonRetryable(
        'HealthTimeout',
        `engine ${input.containerName} did not become ready within ${Math.round(input.timeoutMs / 1000)} s (${lastProblem})`,
        {
          exitCode: null,
          oomKilled: false,
          logTail: tail,
        },
      );
    },

    /** Fails with the engine's typed failure when the container is no longer running; otherwise returns. */
    async checkEngineAlive(input: { containerName: string; during: string }): Promise<{ alive: true }> {
      const state = await classified(() => inspect(input.containerName));
      if (!state.running) await engineDied(input.containerName, input.during);
      return { alive: true };
    },

    /** Removes the engine container; succeeds when it is already gone. */
    async teardownEngine(input: { containerName: string }): Promise<{ removed: boolean }> {
      return classified(async () => {
        const state = await inspect(input.containerName);
        if (state.exists) await remove(input.containerName);
        return { removed: state.exists };
      });
    },

    /** Removes every container thorbench manages on this device (sweep end, cancellation, after a reboot). */
    async teardownAllEngines(): Promise<{ removed: string[] }> {
      return classified(async () => {
        const names = await managedContainers();
        for (const name of names) await remove(name);
        return { removed: names };
      });
    },
  };
}

export type EngineActivities = ReturnType<typeof createEngineActivities>;
