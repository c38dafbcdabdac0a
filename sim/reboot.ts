/**
 * A simulated reboot of the Thor: what a real `reboot` does to the things thorbench cares about.
 *  - new boot id (the worker detects reboots by /proc/sys/kernel/random/boot_id);
 *  - the power mode nvpmodel left pending is applied, clocks are back to DVFS (jetson_clocks does not persist);
 *  - every container process dies, with what `docker exec` started in it, and its container is left exited (docker
 *    with --restart=no);
 *  - every process registered in <dir>/on-device/ (the worker, tegrastats) is SIGKILLed, like power going away.
 * The state is committed before anything is killed, so a reboot triggered by the worker itself still completes.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { readJsonFiles, withLock, writeJsonAtomic } from './atomic-file.js';
import { killContainerExecs } from './container-exec.js';
import { EXIT_SIGKILL, isContainerProcessAlive } from './containers.js';
import { renderDeviceFiles } from './device-files.js';
import type { SimLayout } from './layout.js';
import { processStartTime, signalGroup, waitForExitSync } from './process-util.js';
import { type SimState, readContainerRecords, readDeviceState, writeContainerRecord } from './sim-state.js';

export interface OnDeviceProcess {
  pid: number;
  /** Kernel start time, so a reused pid is never killed. */
  startTime: string | null;
  registeredAt: string;
}

function pidFile(layout: SimLayout, pid: number): string {
  return path.join(layout.onDeviceDir, `${pid}.pid`);
}

export function registerOnDevice(layout: SimLayout, pid: number): void {
  const entry: OnDeviceProcess = {
    pid,
    startTime: processStartTime(pid) ?? null,
    registeredAt: new Date().toISOString(),
  };
  writeJsonAtomic(pidFile(layout, pid), entry);
}

export function unregisterOnDevice(layout: SimLayout, pid: number): void {
  fs.rmSync(pidFile(layout, pid), { force: true });
}

function listOnDevice(layout: SimLayout): OnDeviceProcess[] {
  return readJsonFiles<OnDeviceProcess>(layout.onDeviceDir, '.pid', (file) => fs.rmSync(file, { force: true }));
}

/** The state after a boot: applied to the device file by simulateReboot. */
export function bootedState(state: SimState, bootId: string, now: Date): void {
  state.bootId = bootId;
  state.bootedAt = now.toISOString();
  state.bootCount += 1;
  if (state.pendingPowerModeId !== null) state.powerModeId = state.pendingPowerModeId;
  state.pendingPowerModeId = null;
  state.clocks.locked = false;
  state.clocks.fanMax = false;
}

/** Reboots the simulated device. Returns the new state. */
export function simulateReboot(layout: SimLayout): SimState {
  const state = withLock(layout.lockFile, () => {
    const s = readDeviceState(layout);
    const now = new Date();
    bootedState(s, randomUUID(), now);
    writeJsonAtomic(layout.deviceFile, s);
    for (const record of readContainerRecords(layout)) {
      if (record.status !== 'running') continue;
      if (isContainerProcessAlive(record)) {
        signalGroup(record.pid, 'SIGKILL');
        waitForExitSync(record.pid, 5000);
      }
      record.status = 'exited';
      record.exitCode = EXIT_SIGKILL;
      record.finishedAt = now.toISOString();
      writeContainerRecord(layout, record);
    }
    fs.rmSync(layout.activityDir, { recursive: true, force: true });
    return s;
  });
  renderDeviceFiles(layout, state);
  killContainerExecs(layout);
  killOnDeviceProcesses(layout);
  return state;
}

/** SIGKILLs every registered on-device process (except the caller) whose pid still names the registered process. */
export function killOnDeviceProcesses(layout: SimLayout): void {
  for (const proc of listOnDevice(layout)) {
    if (proc.pid === process.pid) continue;
    unregisterOnDevice(layout, proc.pid);
    const start = processStartTime(proc.pid);
    if (start === undefined || (proc.startTime !== null && start !== proc.startTime)) continue;
    try {
      process.kill(proc.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}
