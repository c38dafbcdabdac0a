/**
 * Where a device's commands and files live. A real Thor and the simulated one differ only here: the activities
 * run the same argv through the same adapter against whichever profile the worker was started with.
 */
import path from 'node:path';

export interface DeviceCommands {
  nvpmodel: string;
  jetsonClocks: string;
  sysctl: string;
  sync: string;
  docker: string;
  tegrastats: string;
}

export interface DeviceProfile {
  /** Device id: names the device's task queue (thorbench-device-<id>). */
  id: string;
  /** True for the simulated Thor; every record produced on it says so. */
  simulated: boolean;
  /**
   * The simulated Thor's device directory, null on a real one. A worker serving the simulator registers its pid
   * there, so that a simulated reboot kills it as a real reboot would.
   */
  simDir: string | null;
  commands: DeviceCommands;
  /** Run privileged commands as `sudo -n <cmd>` (real device, non-root worker). */
  sudo: boolean;
  /** Root of the files read for device facts: /etc/nv_tegra_release, /proc/sys/kernel/random/boot_id, ... */
  rootDir: string;
  /** Worker state (jetson_clocks --store file, sweep-start snapshots). */
  stateDir: string;
  /** Results database and artifacts. */
  resultsDir: string;
  /** Extra environment for every command (the simulator's fake commands find their device through it). */
  env: Record<string, string>;
  /**
   * Added to the experiment's `engine.port` to reach the engine from the worker: 0 on a real Thor (the engine
   * serves on the experiment's port, `--net=host`); on a simulated Thor the per-device offset that keeps the
   * engines of several simulated Thors on one machine apart (sim/device.ts).
   */
  enginePortOffset: number;
  /**
   * The simulated Thor's no-op mode (sim/noop-device.ts): the device worker answers every device step at once from
   * the simulator's state, for measuring and testing orchestration. Absent on every other device.
   */
  noop?: boolean;
}

/** The real commands on JetPack 7 / L4T R38 (paths per NVIDIA docs and jetson_stats). */
export const JETSON_COMMANDS: DeviceCommands = {
  nvpmodel: '/usr/sbin/nvpmodel',
  jetsonClocks: '/usr/bin/jetson_clocks',
  sysctl: '/usr/sbin/sysctl',
  sync: '/usr/bin/sync',
  docker: '/usr/bin/docker',
  tegrastats: '/usr/bin/tegrastats',
};

export function jetsonProfile(opts: {
  id: string;
  resultsDir: string;
  stateDir?: string;
  sudo?: boolean;
}): DeviceProfile {
  return {
    id: opts.id,
    simulated: false,
    simDir: null,
    commands: JETSON_COMMANDS,
    sudo: opts.sudo ?? process.getuid?.() !== 0,
    rootDir: '/',
    stateDir: opts.stateDir ?? '/var/lib/thorbench',
    resultsDir: path.resolve(opts.resultsDir),
    env: {},
    enginePortOffset: 0,
  };
}

/** The port the worker reaches an engine on, given the port the experiment serves it on (`engine.port`). */
export function engineHostPort(profile: DeviceProfile, enginePort: number): number {
  return enginePort + profile.enginePortOffset;
}

/** Reads a device file relative to the profile's root. */
export function devicePath(profile: DeviceProfile, absolute: string): string {
  return path.join(profile.rootDir, absolute);
}
