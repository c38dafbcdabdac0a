/**
 * The simulated Jetson AGX Thor, as the rest of thorbench sees it: a directory holding the device's state, the
 * fake commands in sim/bin that act on it, and a DeviceProfile pointing the activities at those commands. The
 * activities run exactly the argv they would run on a real Thor; only the profile differs.
 *
 *   const dev = ensureSimDevice('.thorbench/sim');            // idempotent
 *   const profile = simDeviceProfile(dev, 'results');         // hand to the device worker
 *   registerOnDeviceProcess(dev.dir, process.pid);            // a simulated reboot kills the worker, like a real one
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { type DeviceProfile } from '../activities/device-profile.js';
import { readJsonFile, withLock, writeJsonAtomic } from './atomic-file.js';
import { SIM_VLLM_CLIENT_ENV } from './commands/docker-exec.js';
import { listContainerStates } from './containers.js';
import { renderDeviceFiles } from './device-files.js';
import { SIM_BIN_DIR, SIM_COMMANDS, SIM_DIR_ENV, simLayout } from './layout.js';
import { registerOnDevice, unregisterOnDevice } from './reboot.js';
import {
  type SimContainer,
  type SimFaults,
  type SimState,
  type TegrastatsFormat,
  readDeviceState,
  updateDeviceState,
} from './sim-state.js';
import { DEFAULT_POWER_MODE_ID, requirePowerMode } from './thor-power-modes.js';

export {
  EngineFault,
  ENGINE_FAULTS,
  FAULT_ENV,
  type SimContainer,
  type SimFaults,
  type SimState,
  type TegrastatsFormat,
} from './sim-state.js';

export interface SimDeviceOptions {
  /** Device id, default "sim". */
  id?: string;
  /** Power mode of a new device, default 1 (120W, the factory default). Ignored when the device exists. */
  powerModeId?: number;
  /** Replace the device's faults. */
  faults?: SimFaults;
  /** Time compression for tests (every simulated delay is divided by it), default 1. */
  speed?: number;
  /** Replace tegrastats' rail format (default: Thor R38's two values per rail, with VIN). */
  tegrastats?: TegrastatsFormat;
  /**
   * Engine port offset: a number replaces the stored one; "allocate" gives a new device the lowest multiple of
   * ENGINE_PORT_STRIDE that no other simulated device in the same parent directory uses (the CLI's
   * THORBENCH_HOME/sim/<id>) and keeps an existing device's. Default: 0 for a new device.
   */
  enginePortOffset?: number | 'allocate';
}

/** Engine ports of the k-th simulated device on a machine are the experiment's `engine.port` + k × this. */
export const ENGINE_PORT_STRIDE = 100;

export interface SimDevice {
  id: string;
  /** Absolute device directory. */
  dir: string;
  /** Absolute path of sim/bin. */
  binDir: string;
  /** <dir>/root: the files device facts are read from. */
  rootDir: string;
  /** { THORBENCH_SIM_DIR: dir }: the environment every fake command needs. */
  env: Record<string, string>;
  /** Added to an engine's `--port` by the simulated docker: where this device's engines listen on the host. */
  enginePortOffset: number;
}

function initialState(opts: SimDeviceOptions): SimState {
  const powerModeId = opts.powerModeId ?? DEFAULT_POWER_MODE_ID;
  requirePowerMode(powerModeId);
  return {
    version: 1,
    id: opts.id ?? 'sim',
    bootId: randomUUID(),
    bootedAt: new Date().toISOString(),
    bootCount: 1,
    powerModeId,
    pendingPowerModeId: null,
    clocks: { locked: false, fanMax: false, stored: null },
    speed: opts.speed ?? 1,
    faults: opts.faults ?? {},
    dropCaches: { count: 0, lastAt: null },
    ...(opts.tegrastats ? { tegrastats: opts.tegrastats } : {}),
  };
}

function checkPortOffset(offset: number | 'allocate' | undefined): void {
  if (offset !== undefined && offset !== 'allocate' && !(Number.isInteger(offset) && offset >= 0 && offset < 65535)) {
    throw new Error(`simulated device engine port offset must be an integer from 0 to 65534 (got ${offset})`);
  }
}

/**
 * The lowest free multiple of ENGINE_PORT_STRIDE among the simulated devices next to `dir` (THORBENCH_HOME/sim/<id>
 * for the CLI), taken under a lock of the parent directory so devices created at the same moment differ.
 */
function allocateEnginePortOffset(dir: string): number {
  const parent = path.dirname(dir);
  return withLock(path.join(parent, '.engine-ports.lock'), () => {
    const used = new Set<number>();
    for (const entry of fs.readdirSync(parent, { withFileTypes: true })) {
      const sibling = path.join(parent, entry.name);
      if (!entry.isDirectory() || sibling === dir) continue;
      const state = readJsonFile<SimState>(simLayout(sibling).deviceFile);
      if (state) used.add(state.enginePortOffset ?? 0);
    }
    let offset = 0;
    while (used.has(offset)) offset += ENGINE_PORT_STRIDE;
    return offset;
  });
}

function checkSpeed(speed: number | undefined): void {
  if (speed !== undefined && !(Number.isFinite(speed) && speed > 0))
    throw new Error(`simulated device speed must be a positive number (got ${speed})`);
}

/** Makes sure the fake commands are executable (a checkout without file modes would break them). */
function ensureExecutable(): void {
  for (const name of SIM_COMMANDS) {
    const file = path.join(SIM_BIN_DIR, name);
    try {
      const mode = fs.statSync(file).mode;
      if ((mode & 0o111) !== 0o111) fs.chmodSync(file, 0o755);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw new Error(`simulator command ${file} is missing: the checkout is incomplete`, { cause: err });
      // Read-only install: leave it; running it will report the problem.
    }
  }
}

/**
 * Creates the simulated device in `dir` the first time, and keeps its state afterwards (a restarted worker sees
 * the same boot id, power mode and containers). `faults` and `speed`, when given, replace the stored ones.
 */
export function ensureSimDevice(dir: string, opts: SimDeviceOptions = {}): SimDevice {
  checkSpeed(opts.speed);
  checkPortOffset(opts.enginePortOffset);
  const layout = simLayout(dir);
  for (const d of [
    layout.rootDir,
    layout.containersDir,
    layout.activityDir,
    layout.logsDir,
    layout.onDeviceDir,
    layout.workerStateDir,
  ])
    fs.mkdirSync(d, { recursive: true });
  ensureExecutable();
  const state = withLock(layout.lockFile, () => {
    if (!fs.existsSync(layout.deviceFile)) {
      const s = initialState(opts);
      const offset = opts.enginePortOffset;
      s.enginePortOffset = offset === 'allocate' ? allocateEnginePortOffset(layout.dir) : (offset ?? 0);
      writeJsonAtomic(layout.deviceFile, s);
      return s;
    }
    const s = readDeviceState(layout);
    let changed = false;
    if (opts.faults !== undefined) {
      s.faults = opts.faults;
      changed = true;
    }
    if (opts.speed !== undefined) {
      s.speed = opts.speed;
      changed = true;
    }
    if (opts.tegrastats !== undefined) {
      s.tegrastats = opts.tegrastats;
      changed = true;
    }
    if (typeof opts.enginePortOffset === 'number' && opts.enginePortOffset !== (s.enginePortOffset ?? 0)) {
      s.enginePortOffset = opts.enginePortOffset;
      changed = true;
    }
    if (opts.id !== undefined && opts.id !== s.id) {
      s.id = opts.id;
      changed = true;
    }
    if (changed) writeJsonAtomic(layout.deviceFile, s);
    return s;
  });
  renderDeviceFiles(layout, state);
  return {
    id: state.id,
    dir: layout.dir,
    binDir: SIM_BIN_DIR,
    rootDir: layout.rootDir,
    env: { [SIM_DIR_ENV]: layout.dir },
    enginePortOffset: state.enginePortOffset ?? 0,
  };
}

export interface SimProfileOptions {
  /** The `vllm` executable simulated containers run for `vllm bench serve`; default: the stand-in. */
  vllmClient?: string;
  /** No-op mode (THORBENCH_SIM_NOOP): every device step answers at once (sim/noop-device.ts). */
  noop?: boolean;
}

/** The profile the device worker uses for a simulated Thor: commands from sim/bin, no sudo. */
export function simDeviceProfile(dev: SimDevice, resultsDir: string, opts: SimProfileOptions = {}): DeviceProfile {
  const bin = (name: string): string => path.join(dev.binDir, name);
  return {
    id: dev.id,
    simulated: true,
    simDir: dev.dir,
    commands: {
      nvpmodel: bin('nvpmodel'),
      jetsonClocks: bin('jetson_clocks'),
      sysctl: bin('sysctl'),
      // Flushing the host's dirty pages is harmless and there is nothing to simulate about it.
      sync: fs.existsSync('/usr/bin/sync') ? '/usr/bin/sync' : '/bin/sync',
      docker: bin('docker'),
      tegrastats: bin('tegrastats'),
    },
    sudo: false,
    rootDir: dev.rootDir,
    stateDir: simLayout(dev.dir).workerStateDir,
    resultsDir: path.resolve(resultsDir),
    env: { ...dev.env, ...(opts.vllmClient ? { [SIM_VLLM_CLIENT_ENV]: opts.vllmClient } : {}) },
    enginePortOffset: dev.enginePortOffset,
    ...(opts.noop ? { noop: true } : {}),
  };
}

export function readSimState(dir: string): SimState {
  return readDeviceState(simLayout(dir));
}

/** Replaces the device's faults (engines read them when they start; nvpmodel when it runs). */
export function writeSimFaults(dir: string, faults: SimFaults): void {
  updateDeviceState(simLayout(dir), (s) => {
    s.faults = faults;
  });
}

/**
 * Reads a tegrastats rail format as written in THORBENCH_SIM_TEGRASTATS: `2` or `3` values per rail, optionally
 * `,no-vin` (a carrier board without the VIN monitor), e.g. `3` or `2,no-vin`.
 */
export function parseTegrastatsFormat(text: string): TegrastatsFormat {
  const m = /^\s*([23])\s*(?:,\s*(no-vin)\s*)?$/.exec(text);
  if (!m) {
    throw new Error(
      `THORBENCH_SIM_TEGRASTATS must be "2" or "3" (values per rail), optionally ",no-vin"; got "${text}"`,
    );
  }
  return { railValues: m[1] === '3' ? 3 : 2, vin: m[2] === undefined };
}

/** Changes the power-rail format of the simulated tegrastats (its next start picks it up). */
export function writeSimTegrastatsFormat(dir: string, format: TegrastatsFormat): void {
  updateDeviceState(simLayout(dir), (s) => {
    s.tegrastats = format;
  });
}

/** Changes the time compression of a running simulation (engines pick it up at their next step). */
export function writeSimSpeed(dir: string, speed: number): void {
  checkSpeed(speed);
  updateDeviceState(simLayout(dir), (s) => {
    s.speed = speed;
  });
}

/** Every container with truthful status (exited if its process is gone). */
export function listSimContainers(dir: string): SimContainer[] {
  return listContainerStates(simLayout(dir));
}

/** Marks a process as running on the device: a simulated reboot SIGKILLs it (the worker registers itself). */
export function registerOnDeviceProcess(dir: string, pid: number): void {
  registerOnDevice(simLayout(dir), pid);
}

export function unregisterOnDeviceProcess(dir: string, pid: number): void {
  unregisterOnDevice(simLayout(dir), pid);
}
