/**
 * The exact `docker run` argv that starts a vLLM engine for a cell (docs/architecture.md, step 5), built from validated
 * experiment fields only. Pure: unit-tested, and hashed so a restarted step can tell whether a running container is the
 * one it would have started (adopt) or a stale one (remove).
 */
import { createHash } from 'node:crypto';
import type { EngineSpec, ModelSpec } from '../schema/experiment.js';

export const CONTAINER_MODELS_DIR = '/models';

export interface EngineLaunch {
  containerName: string;
  /** Arguments after `docker` (the caller prepends the docker binary). */
  dockerArgs: string[];
  /** The `vllm serve ...` part, recorded with every cell. */
  serveCommand: string[];
  configHash: string;
  labels: Record<string, string>;
}

export interface EngineLaunchInput {
  sweepId: string;
  cellId: string;
  engineGroup: string;
  engine: EngineSpec;
  model: ModelSpec;
  simulated: boolean;
}

/** Docker container names allow [a-zA-Z0-9][a-zA-Z0-9_.-]*. */
export function containerNameFor(engineGroup: string): string {
  return `thorbench-${engineGroup.replace(/[^a-zA-Z0-9_.-]/g, '-')}`.slice(0, 120);
}

export function buildEngineLaunch(input: EngineLaunchInput): EngineLaunch {
  const { engine, model } = input;
  const serveCommand = [
    'vllm',
    'serve',
    `${CONTAINER_MODELS_DIR}/${model.path}`,
    '--served-model-name',
    model.servedName,
    '--port',
    String(engine.port),
    '--gpu-memory-utilization',
    String(model.gpuMemoryUtilization ?? engine.gpuMemoryUtilization),
  ];
  const maxModelLen = model.maxModelLen ?? engine.maxModelLen;
  if (maxModelLen !== undefined) serveCommand.push('--max-model-len', String(maxModelLen));
  serveCommand.push(...model.serveArgs);

  const envArgs = Object.entries(model.env)
    .sort(([a], [b]) => a.localeCompare(b))
    .flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  const mounts = [
    '-v',
    `${engine.modelsDir}:${CONTAINER_MODELS_DIR}:ro`,
    ...Object.entries(engine.cacheDirs)
      .sort(([a], [b]) => a.localeCompare(b))
      .flatMap(([host, ctr]) => ['-v', `${host}:${ctr}`]),
  ];
  const configHash = createHash('sha256')
    .update(JSON.stringify({ image: engine.image, serveCommand, envArgs, mounts }))
    .digest('hex')
    .slice(0, 16);
  const containerName = containerNameFor(input.engineGroup);
  const labels: Record<string, string> = {
    'thorbench.managed': 'true',
    'thorbench.sweep': input.sweepId,
    'thorbench.cell': input.cellId,
    'thorbench.engine-group': input.engineGroup,
    'thorbench.config-hash': configHash,
    'thorbench.model': model.id,
    'thorbench.quantization': model.quantization,
    'thorbench.simulated': String(input.simulated),
  };
  const labelArgs = Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  // --restart=no: after a reboot the worker reconciles containers itself; no --rm: logs and exit state are
  // needed after the engine dies.
  const dockerArgs = [
    'run',
    '-d',
    '--runtime=nvidia',
    '--ipc=host',
    '--net=host',
    '--restart=no',
    '--name',
    containerName,
    ...labelArgs,
    ...envArgs,
    ...mounts,
    engine.image,
    ...serveCommand,
  ];
  return { containerName, dockerArgs, serveCommand, configHash, labels };
}
