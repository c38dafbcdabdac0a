/**
 * `docker run -d ... IMAGE vllm serve ...` of the simulated Thor: records the container and starts the simulated
 * vLLM server (sim/engine-server.ts) as a detached local process in its own process group, with stdout and stderr
 * going to the container's log file. Name conflicts and bad arguments fail with docker's texts and exit 125.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { withLock } from '../atomic-file.js';
import {
  CONTAINER_ID_ENV,
  CONTAINER_NAME_ENV,
  ENGINE_PORT_OFFSET_ENV,
  IMAGE_ENV,
  LABELS_ENV,
  MOUNTS_ENV,
  refreshContainer,
} from '../containers.js';
import { SIMULATED_LABEL } from '../docker-format.js';
import { DockerUsageError, type DockerRunSpec, parseDockerRun } from '../docker-run-args.js';
import { ENGINE_SERVER_JS, SIM_DIR_ENV, type SimLayout } from '../layout.js';
import {
  type SimContainer,
  isValidContainerName,
  readContainerRecord,
  readDeviceState,
  writeContainerRecord,
} from '../sim-state.js';
import type { CommandIO } from './cli.js';

function runUsage(io: CommandIO, message: string): number {
  io.err(`docker: ${message}\n\nRun 'docker run --help' for more information\n`);
  return 125;
}

function startEngine(
  layout: SimLayout,
  spec: DockerRunSpec,
  name: string,
  id: string,
  logFile: string,
  portOffset: number,
): number {
  const fd = fs.openSync(logFile, 'a');
  try {
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/root' };
    for (const kv of spec.env) {
      const eq = kv.indexOf('=');
      env[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    Object.assign(env, {
      [SIM_DIR_ENV]: layout.dir,
      [CONTAINER_NAME_ENV]: name,
      [CONTAINER_ID_ENV]: id,
      [LABELS_ENV]: JSON.stringify(spec.labels),
      [MOUNTS_ENV]: JSON.stringify(spec.mounts),
      [IMAGE_ENV]: spec.image,
      // Each simulated Thor has its own "host network": its engines listen on --port + the device's offset.
      [ENGINE_PORT_OFFSET_ENV]: String(portOffset),
    });
    // `vllm serve ARGS` → `node engine-server.js serve ARGS`: the same argv after the program name.
    const child = spawn(process.execPath, [ENGINE_SERVER_JS, ...spec.command.slice(1)], {
      detached: true,
      stdio: ['ignore', fd, fd],
      env,
      cwd: layout.dir,
    });
    child.unref();
    if (child.pid === undefined)
      throw new Error(`could not start the simulated engine (${process.execPath} ${ENGINE_SERVER_JS})`);
    return child.pid;
  } finally {
    fs.closeSync(fd);
  }
}

export function dockerRun(args: string[], layout: SimLayout, io: CommandIO): number {
  let spec: DockerRunSpec;
  try {
    spec = parseDockerRun(args, { hostEnv: process.env, readFile: (f) => fs.readFileSync(f, 'utf8') });
  } catch (err) {
    if (err instanceof DockerUsageError) return runUsage(io, err.message);
    throw err;
  }
  if (!spec.detach) return runUsage(io, 'thorbench simulator: only detached containers are simulated; pass -d');
  if (spec.command[0] !== 'vllm' || spec.command[1] !== 'serve') {
    return runUsage(
      io,
      `thorbench simulator: only "vllm serve ..." containers are simulated (command was "${spec.command.join(' ')}")`,
    );
  }
  if (!fs.existsSync(ENGINE_SERVER_JS))
    return runUsage(io, `thorbench simulator: ${ENGINE_SERVER_JS} is missing; build first: npx tsc -p tsconfig.json`);
  const name = spec.name ?? `sim_${randomBytes(4).toString('hex')}`;
  if (!isValidContainerName(name)) {
    return runUsage(
      io,
      `Error response from daemon: Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed.`,
    );
  }
  const id = randomBytes(32).toString('hex');
  const { bootId, enginePortOffset } = readDeviceState(layout);
  const result = withLock(layout.lockFile, (): { conflict: string } | { ok: true } => {
    const existing = readContainerRecord(layout, name);
    if (existing && refreshContainer(layout, existing)) return { conflict: existing.id };
    const logFile = path.join(layout.logsDir, `${name}-${id.slice(0, 12)}.log`);
    fs.mkdirSync(layout.logsDir, { recursive: true });
    const pid = startEngine(layout, spec, name, id, logFile, enginePortOffset ?? 0);
    const now = new Date().toISOString();
    const record: SimContainer = {
      id,
      name,
      image: spec.image,
      labels: { ...spec.labels, [SIMULATED_LABEL]: 'true' },
      env: [
        ...spec.env,
        'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        'NVIDIA_VISIBLE_DEVICES=all',
      ],
      mounts: spec.mounts,
      argv: spec.command,
      runtime: spec.runtime,
      networkMode: spec.network,
      ipcMode: spec.ipc,
      restartPolicy: spec.restart,
      autoRemove: spec.autoRemove,
      pid,
      status: 'running',
      exitCode: 0,
      oomKilled: false,
      error: '',
      createdAt: now,
      startedAt: now,
      finishedAt: null,
      logFile,
      bootId,
    };
    writeContainerRecord(layout, record);
    return { ok: true };
  });
  if ('conflict' in result) {
    return runUsage(
      io,
      `Error response from daemon: Conflict. The container name "/${name}" is already in use by container "${result.conflict}". You have to remove (or rename) that container to be able to reuse that name.`,
    );
  }
  io.out(`${id}\n`);
  return 0;
}
