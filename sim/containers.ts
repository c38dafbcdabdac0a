/**
 * Container bookkeeping shared by the fake docker, the engine and the simulated reboot. The rule that keeps
 * `docker inspect` truthful: an engine writes its own exit code into its record before it exits; whoever reads a
 * record that still says "running" checks the process, and a process that vanished without writing an exit code
 * was SIGKILLed: exit 137, like docker reports it.
 */
import { withLock } from './atomic-file.js';
import { killContainerExecs } from './container-exec.js';
import type { SimLayout } from './layout.js';
import { isOurProcess, signalGroup, waitForExitSync } from './process-util.js';
import {
  type SimContainer,
  deleteContainerRecord,
  readContainerRecord,
  readContainerRecords,
  writeContainerRecord,
} from './sim-state.js';

/** Environment of an engine process: which container it is (so its pid can be recognised, and it can record its exit). */
export const CONTAINER_ID_ENV = 'THORBENCH_SIM_CONTAINER_ID';
export const CONTAINER_NAME_ENV = 'THORBENCH_SIM_CONTAINER';
/** Environment the engine reads its container's labels (JSON), mounts (JSON) and image from. */
export const LABELS_ENV = 'THORBENCH_SIM_LABELS';
export const MOUNTS_ENV = 'THORBENCH_SIM_MOUNTS';
export const IMAGE_ENV = 'THORBENCH_SIM_IMAGE';
/** Added by the simulated engine to its `--port` (the device's engine port offset, sim/device.ts). */
export const ENGINE_PORT_OFFSET_ENV = 'THORBENCH_SIM_ENGINE_PORT_OFFSET';
/** A fragment of the engine's command line, the fallback check when /proc/<pid>/environ is unreadable. */
const ENGINE_CMDLINE_HINT = 'engine-server';

/** Exit code docker reports for a process killed by SIGKILL (128 + 9). */
export const EXIT_SIGKILL = 137;

export function isContainerProcessAlive(record: SimContainer): boolean {
  return isOurProcess(record.pid, CONTAINER_ID_ENV, record.id, ENGINE_CMDLINE_HINT);
}

/**
 * Brings a record in line with reality: a "running" container whose process is gone becomes exited (137 unless the
 * engine recorded its own code). A `--rm` container that exited is removed. Returns the current record, or
 * undefined when it no longer exists.
 */
export function refreshContainer(layout: SimLayout, record: SimContainer): SimContainer | undefined {
  if (record.status === 'running' && isContainerProcessAlive(record)) return record;
  return withLock(layout.lockFile, () => {
    const current = readContainerRecord(layout, record.name);
    if (!current || current.id !== record.id) return current;
    if (current.status === 'running' && !isContainerProcessAlive(current)) {
      current.status = 'exited';
      current.exitCode = EXIT_SIGKILL;
      current.finishedAt = new Date().toISOString();
      writeContainerRecord(layout, current);
    }
    if (current.status === 'exited' && current.autoRemove) {
      deleteContainerRecord(layout, current.name);
      return undefined;
    }
    return current;
  });
}

/** Every container, with truthful status. */
export function listContainerStates(layout: SimLayout): SimContainer[] {
  return readContainerRecords(layout)
    .map((r) => refreshContainer(layout, r))
    .filter((r): r is SimContainer => r !== undefined);
}

/** Resolves a container by name (with or without "/") or by a unique id prefix, like docker does. */
export function findContainer(layout: SimLayout, ref: string): SimContainer | undefined {
  const name = ref.startsWith('/') ? ref.slice(1) : ref;
  const byName = readContainerRecord(layout, name);
  if (byName) return refreshContainer(layout, byName);
  if (!/^[0-9a-f]{1,64}$/.test(ref)) return undefined;
  const matches = readContainerRecords(layout).filter((r) => r.id.startsWith(ref));
  return matches.length === 1 ? refreshContainer(layout, matches[0]!) : undefined;
}

/** Called by the engine itself as it exits: records the exit code unless the record is gone or belongs to a newer container. */
export function recordContainerExit(
  layout: SimLayout,
  name: string,
  id: string,
  exitCode: number,
  oomKilled: boolean,
  error = '',
): void {
  withLock(layout.lockFile, () => {
    const record = readContainerRecord(layout, name);
    if (!record || record.id !== id || record.status === 'exited') return;
    record.status = 'exited';
    record.exitCode = exitCode;
    record.oomKilled = oomKilled;
    record.error = error;
    record.finishedAt = new Date().toISOString();
    writeContainerRecord(layout, record);
  });
}

/**
 * Kills a container's process group and what `docker exec` started in it at once (docker rm -f), waits until they
 * are gone, then makes the record say exited.
 */
function killContainerProcess(layout: SimLayout, record: SimContainer): void {
  killContainerExecs(layout, record.id);
  // Signal only a process that is provably ours: a dead engine's pid may belong to someone else by now.
  if (record.status === 'running' && isContainerProcessAlive(record)) {
    signalGroup(record.pid, 'SIGKILL');
    waitForExitSync(record.pid, 5000);
  }
  refreshContainer(layout, record);
}

/** Kills (if needed) and removes a container. */
export function removeContainer(layout: SimLayout, record: SimContainer): void {
  killContainerProcess(layout, record);
  withLock(layout.lockFile, () => {
    const current = readContainerRecord(layout, record.name);
    if (current && current.id === record.id) deleteContainerRecord(layout, record.name);
  });
}
