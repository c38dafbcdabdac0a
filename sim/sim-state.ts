/**
 * The simulated Thor's persistent state: what survives a restarted worker and (partly) a simulated reboot.
 *
 * One JSON file for the device (boot, power mode, clocks, faults, speed) and one per container, all under
 * <dir>/sim-state/, written atomically; read-modify-write goes through the state lock (sim/atomic-file.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { readJsonFile, readJsonFiles, withLock, writeJsonAtomic } from './atomic-file.js';
import { type SimLayout, simLayout } from './layout.js';

/** Ways the simulated engine can be told to fail. */
export const EngineFault = {
  /** Exits 1 while loading, with a vLLM-like traceback. */
  CrashOnLoad: 'crash-on-load',
  /** Loads fine, then dies with a CUDA error on the first completion (the guide's FP8/FP4 experience). */
  CrashOnFirstRequest: 'crash-on-first-request',
  /** Killed by the OOM killer while loading: exit 137, OOMKilled true. */
  OomOnLoad: 'oom-on-load',
  /** Stays up but /health answers 503 forever. */
  NeverHealthy: 'never-healthy',
} as const;
export type EngineFault = (typeof EngineFault)[keyof typeof EngineFault];
export const ENGINE_FAULTS: readonly EngineFault[] = Object.values(EngineFault);

export function isEngineFault(value: string): value is EngineFault {
  return (ENGINE_FAULTS as readonly string[]).includes(value);
}

/** Environment variable of a container (docker run -e) that injects an engine fault into that engine only. */
export const FAULT_ENV = 'THORBENCH_SIM_FAULT';

/** FAULT_ENV value that slows an engine down: `slowdown:1.25` multiplies every latency by 1.25. */
export const SLOWDOWN_PREFIX = 'slowdown:';

/**
 * The factor of a `slowdown:<factor>` fault (a number ≥ 1, at most 100), or null when `value` is not a slowdown.
 * Throws on a slowdown with a factor that is not such a number, naming the accepted form.
 */
export function parseSlowdown(value: string): number | null {
  if (!value.startsWith(SLOWDOWN_PREFIX)) return null;
  const text = value.slice(SLOWDOWN_PREFIX.length);
  const factor = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!(factor >= 1 && factor <= 100)) {
    throw new Error(`${FAULT_ENV}=${value}: the slowdown factor must be a number from 1 to 100, e.g. slowdown:1.25`);
  }
  return factor;
}

export interface SimFaults {
  /**
   * Engine faults by model path relative to the models directory (e.g. "Qwen/Qwen3-8B-FP8"), or "*" for every
   * engine. A container's THORBENCH_SIM_FAULT env takes precedence.
   */
  engineFaults?: Record<string, EngineFault>;
  /** Model paths (relative to the models directory) that do not exist on the device: the engine fails to load. */
  missingModels?: string[];
  /** Power mode ids that need a reboot whatever their TPC power-gating mask says. */
  rebootRequiredModes?: number[];
}

export interface StoredClocks {
  /** File given to `jetson_clocks --store`. */
  file: string;
  locked: boolean;
  powerModeId: number;
  at: string;
}

export interface SimState {
  version: 1;
  /** Device id (names the worker's task queue). */
  id: string;
  /** /proc/sys/kernel/random/boot_id: a new UUID per simulated boot. */
  bootId: string;
  bootedAt: string;
  /** Simulated boots so far (1 = the first). */
  bootCount: number;
  powerModeId: number;
  /** Mode nvpmodel recorded before asking for a reboot; applied by the next reboot. */
  pendingPowerModeId: number | null;
  clocks: {
    /** jetson_clocks applied since the last boot / nvpmodel change / restore. */
    locked: boolean;
    /** jetson_clocks --fan: fan at full speed. */
    fanMax: boolean;
    /** What the last `jetson_clocks --store` saved. */
    stored: StoredClocks | null;
  };
  /** Time compression: every simulated delay is divided by it (tests use > 1). */
  speed: number;
  faults: SimFaults;
  dropCaches: { count: number; lastAt: string | null };
  /** How the simulated tegrastats prints power rails; absent = Thor R38's own format (two values, with VIN). */
  tegrastats?: TegrastatsFormat;
  /**
   * Added to an engine's `--port` to get the host port it listens on, so several simulated Thors on one machine
   * never share an engine port (a real Thor serves on the experiment's port). Absent (older state) = 0.
   */
  enginePortOffset?: number;
}

/**
 * Power-rail format of the simulated tegrastats. Thor (R38.4) prints `NAME <inst>mW/<avg>mW`; JetPack 7.2 prints a
 * third value (`5139mW/5139mW/5139mW`, see parsers/thor/tegrastats.ts). A carrier board without the INA238 input
 * monitor has no VIN rail at all (thorbench then records energy as unavailable).
 */
export interface TegrastatsFormat {
  railValues: 2 | 3;
  vin: boolean;
}

export type ContainerStatus = 'running' | 'exited';

export interface SimMount {
  host: string;
  container: string;
  readOnly: boolean;
}

export interface SimContainer {
  /** 64 hex digits. */
  id: string;
  /** Without the leading "/". */
  name: string;
  image: string;
  labels: Record<string, string>;
  /** K=V, as docker inspect shows Config.Env. */
  env: string[];
  mounts: SimMount[];
  /** The container command, e.g. ["vllm", "serve", "/models/...", ...]. */
  argv: string[];
  runtime: string;
  networkMode: string;
  ipcMode: string;
  restartPolicy: string;
  autoRemove: boolean;
  /** Host pid of the simulated engine (its own process group). */
  pid: number;
  status: ContainerStatus;
  exitCode: number;
  oomKilled: boolean;
  error: string;
  createdAt: string;
  startedAt: string;
  finishedAt: string | null;
  logFile: string;
  /** Boot during which the process ran; a reboot ends every process of the previous boot. */
  bootId: string;
}

/** What an engine is doing, for tegrastats' power model. Written by the engine, read by tegrastats. */
export interface EngineActivity {
  container: string;
  pid: number;
  /** Requests in flight (waiting or running). */
  inFlight: number;
  /** Unified memory the engine holds (its --gpu-memory-utilization share), MB. */
  memoryMb: number;
  updatedAt: string;
}

export function isSimDeviceDir(dir: string): boolean {
  return fs.existsSync(simLayout(dir).deviceFile);
}

export function readDeviceState(layout: SimLayout): SimState {
  const state = readJsonFile<SimState>(layout.deviceFile);
  if (!state) {
    throw new Error(
      `${layout.dir} is not a simulated Thor (no ${layout.deviceFile}); create it with ensureSimDevice() from sim/device.ts or run thorbench with --device sim`,
    );
  }
  return state;
}

/** Read-modify-write of the device state under the lock. */
export function updateDeviceState(layout: SimLayout, change: (state: SimState) => void): SimState {
  return withLock(layout.lockFile, () => {
    const state = readDeviceState(layout);
    change(state);
    writeJsonAtomic(layout.deviceFile, state);
    return state;
  });
}

const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function isValidContainerName(name: string): boolean {
  return CONTAINER_NAME.test(name);
}

function containerFile(layout: SimLayout, name: string): string {
  if (!isValidContainerName(name))
    throw new Error(`invalid container name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  return path.join(layout.containersDir, `${name}.json`);
}

export function readContainerRecord(layout: SimLayout, name: string): SimContainer | undefined {
  if (!isValidContainerName(name)) return undefined;
  return readJsonFile<SimContainer>(containerFile(layout, name));
}

export function writeContainerRecord(layout: SimLayout, record: SimContainer): void {
  writeJsonAtomic(containerFile(layout, record.name), record);
}

export function deleteContainerRecord(layout: SimLayout, name: string): void {
  fs.rmSync(containerFile(layout, name), { force: true });
  fs.rmSync(activityFile(layout, name), { force: true });
}

/** All container records, oldest first. */
export function readContainerRecords(layout: SimLayout): SimContainer[] {
  const records = readJsonFiles<SimContainer>(layout.containersDir, '.json');
  return records.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.name.localeCompare(b.name));
}

function activityFile(layout: SimLayout, name: string): string {
  return path.join(layout.activityDir, `${name}.json`);
}

export function writeEngineActivity(layout: SimLayout, activity: EngineActivity): void {
  writeJsonAtomic(activityFile(layout, activity.container), activity);
}

export function readEngineActivities(layout: SimLayout): EngineActivity[] {
  // A corrupt file belongs to a half-removed container: ignore it.
  return readJsonFiles<EngineActivity>(layout.activityDir, '.json', () => {});
}
