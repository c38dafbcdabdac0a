/**
 * What a device worker says about its device when it starts (the `devices` table of the results store,
 * `thorbench devices`), and which of an experiment's models a device holds.
 *
 * Deterministic: imported by workflow code.
 */

/** A model of the experiment as the presence check sees it: its id and its path under `engine.modelsDir`. */
export interface ModelRef {
  id: string;
  path: string;
}

/** The answer of a device to "which of these models do you hold?" (activities/models.ts). */
export interface ModelsPresence {
  deviceId: string;
  /** Models whose directory (or GGUF file) is not under the models directory on this device. */
  missing: ModelRef[];
}

/** One power mode of the device's own nvpmodel table. */
export interface InventoryPowerMode {
  id: number;
  name: string;
  tpcPgMask: number | null;
}

/** Clock limits in the current power mode (`jetson_clocks --show`), MHz. */
export interface ClockLimits {
  gpuMaxMhz: number | null;
  emcMaxMhz: number | null;
  cpuMaxMhz: number | null;
}

/** The facts a device worker registers when it starts. */
export interface DeviceInventory {
  deviceId: string;
  simulated: boolean;
  /** Device-tree model, e.g. "NVIDIA Jetson AGX Thor Developer Kit". */
  model: string;
  /** e.g. "R38.2.1", null when /etc/nv_tegra_release is missing. */
  l4tRelease: string | null;
  /** MemTotal of /proc/meminfo, MB; null when unreadable. */
  memoryTotalMb: number | null;
  powerModes: InventoryPowerMode[];
  /** The power mode the device was in when it registered. */
  powerMode: { id: number; name: string } | null;
  clockLimits: ClockLimits | null;
  /** The models directory the worker checked (THORBENCH_MODELS_DIR, else the schema's default `/data/models`). */
  modelsDir: string;
  /** Free bytes on the file system holding the models directory; null when it cannot be read. */
  modelsDirFreeBytes: number | null;
  /** The engine image the worker looked for (THORBENCH_ENGINE_IMAGE, else the schema's default image). */
  engineImage: string;
  /** `docker image inspect` found the image locally (no pull needed before the first engine start). */
  engineImagePresent: boolean;
  engineImageDigest: string | null;
  /**
   * Model directories found under the models directory (`org/name` holding a config.json, or a .gguf file). Null
   * on the simulated Thor, which holds every model except those its faults list as missing (`modelsMissing`).
   */
  models: string[] | null;
  modelsMissing: string[];
  /** Anything that could not be read, e.g. "jetson_clocks --show: sudo: a password is required". */
  problems: string[];
}

/** A device as the results store knows it. */
export interface DeviceRecord {
  deviceId: string;
  inventory: DeviceInventory;
  /** The worker that registered it (Temporal worker identity). */
  worker: string;
  registeredAt: string;
  lastSeenAt: string;
}
