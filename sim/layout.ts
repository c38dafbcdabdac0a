/**
 * Where things live: inside a simulated device's directory, and inside the repository (the fake executables,
 * the fixtures, the compiled engine). Repository paths are resolved from this module's own URL, never from the
 * current directory, so the fake commands work whatever directory the worker runs in.
 *
 * This file compiles to dist/sim/layout.js; the repository root is two levels up from there.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Absolute path of sim/bin (the fake nvpmodel, jetson_clocks, sysctl, docker, tegrastats, reboot). */
export const SIM_BIN_DIR = path.join(REPO_ROOT, 'sim', 'bin');
/** Real outputs captured on a Thor. */
export const THOR_FIXTURES_DIR = path.join(REPO_ROOT, 'fixtures', 'thor');
/** The compiled simulated vLLM server. */
export const ENGINE_SERVER_JS = path.join(REPO_ROOT, 'dist', 'sim', 'engine-server.js');
/** The compiled process `docker exec` starts inside a simulated container (sim/exec-process.ts). */
export const EXEC_PROCESS_JS = path.join(REPO_ROOT, 'dist', 'sim', 'exec-process.js');

/** Names of the fake executables in sim/bin. */
export const SIM_COMMANDS = ['nvpmodel', 'jetson_clocks', 'sysctl', 'docker', 'tegrastats', 'reboot'] as const;
export type SimCommand = (typeof SIM_COMMANDS)[number];

/** Environment variable naming the device directory, set by the worker for every fake command. */
export const SIM_DIR_ENV = 'THORBENCH_SIM_DIR';

/** Paths inside one simulated device directory. */
export interface SimLayout {
  dir: string;
  /** Files the activities read as device facts (/etc/nv_tegra_release, boot_id, device-tree model). */
  rootDir: string;
  /** The simulator's own state: device.json, containers/, activity/, lock. */
  simStateDir: string;
  deviceFile: string;
  containersDir: string;
  activityDir: string;
  lockFile: string;
  /** Container logs (what `docker logs` prints). */
  logsDir: string;
  /** Pid files of processes a simulated reboot kills (the worker registers itself here). */
  onDeviceDir: string;
  /** Processes started by `docker exec` in a container, with their container (sim/container-exec.ts). */
  execDir: string;
  /** The worker's state dir on this device (DeviceProfile.stateDir), like /var/lib/thorbench on a real Thor. */
  workerStateDir: string;
}

export function simLayout(dir: string): SimLayout {
  const abs = path.resolve(dir);
  const simStateDir = path.join(abs, 'sim-state');
  return {
    dir: abs,
    rootDir: path.join(abs, 'root'),
    simStateDir,
    deviceFile: path.join(simStateDir, 'device.json'),
    containersDir: path.join(simStateDir, 'containers'),
    activityDir: path.join(simStateDir, 'activity'),
    lockFile: path.join(simStateDir, 'lock'),
    logsDir: path.join(abs, 'logs'),
    onDeviceDir: path.join(abs, 'on-device'),
    execDir: path.join(simStateDir, 'exec'),
    workerStateDir: path.join(abs, 'state'),
  };
}
