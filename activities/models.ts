/**
 * Which models a device holds, and the facts a device worker registers when it starts (`thorbench devices`).
 *
 * A model is present when its path exists under the models directory (a directory, or a GGUF file). The simulated
 * Thor has no model files: it holds every model except those its faults list as missing (sim/sim-state.ts,
 * `missingModels`), the same rule its engine follows when it loads one.
 */
import { readdir, readFile, stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import {
  clocksReadBack,
  imageDigest,
  parseDockerImageInspect,
  parseJetsonClocksShow,
  parseNvpmodelVerbose,
} from '../parsers/thor.js';
import { z } from 'zod';
import type { DeviceInventory, ModelRef, ModelsPresence } from '../schema/device-inventory.js';
import { EngineSpec, ModelSpec } from '../schema/experiment.js';
import { readSimState } from '../sim/device.js';
import { createDeviceActivities } from './device.js';
import { type DeviceProfile, devicePath } from './device-profile.js';
import { runDevice, runPrivileged } from './exec.js';
import { classified } from './failures.js';

const QUICK_MS = 30_000;

const CheckModelsInput = z.object({
  modelsDir: EngineSpec.shape.modelsDir,
  models: z.array(z.object({ id: ModelSpec.shape.id, path: ModelSpec.shape.path })),
});
/** Listing stops here: a models directory is not expected to hold more, and registration must stay small. */
const MAX_LISTED_MODELS = 500;

/** Model paths the simulated Thor lacks; empty on a real device. */
function simulatedMissing(profile: DeviceProfile): string[] {
  return profile.simDir ? (readSimState(profile.simDir).faults.missingModels ?? []) : [];
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/** The models of `models` that are not under `modelsDir` on this device. */
export async function missingModels(
  profile: DeviceProfile,
  modelsDir: string,
  models: ModelRef[],
): Promise<ModelRef[]> {
  if (profile.simulated) {
    const missing = new Set(simulatedMissing(profile));
    return models.filter((m) => missing.has(m.path));
  }
  const out: ModelRef[] = [];
  for (const m of models) if (!(await exists(path.join(modelsDir, m.path)))) out.push(m);
  return out;
}

/** Model directories (`org/name` or `name` holding config.json) and GGUF files, relative to modelsDir. */
async function listModels(dir: string): Promise<string[]> {
  const found: string[] = [];
  const visit = async (rel: string, depth: number): Promise<void> => {
    const entries = await readdir(path.join(dir, rel), { withFileTypes: true }).catch(() => []);
    if (entries.some((e) => e.isFile() && e.name === 'config.json')) {
      found.push(rel);
      return;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (found.length >= MAX_LISTED_MODELS) return;
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isFile() && e.name.endsWith('.gguf')) found.push(child);
      else if (e.isDirectory() && depth < 2) await visit(child, depth + 1);
    }
  };
  await visit('', 0);
  return found;
}

/** Free bytes where the models directory is (or would be created): its nearest existing ancestor. */
async function freeBytes(dir: string): Promise<number | null> {
  for (let d = dir; ; d = path.dirname(d)) {
    try {
      const s = await statfs(d);
      return s.bavail * s.bsize;
    } catch {
      if (path.dirname(d) === d) return null;
    }
  }
}

async function readMemTotalMb(profile: DeviceProfile): Promise<number | null> {
  const text = await readFile(devicePath(profile, '/proc/meminfo'), 'utf8').catch(() => null);
  const kb = text === null ? null : /^MemTotal:\s+(\d+)\s*kB/m.exec(text)?.[1];
  return kb ? Math.round(Number(kb) / 1024) : null;
}

export function createModelActivities(profile: DeviceProfile) {
  return {
    /**
     * Which of the experiment's models this device lacks. The sweep asks every device before it deals out model
     * groups (plan/model-eligibility.ts), so a model is never given to a device that lacks it.
     */
    async checkModelsPresent(input: { modelsDir: string; models: ModelRef[] }): Promise<ModelsPresence> {
      // Validated again: `temporal workflow start` bypasses the CLI, and these paths reach the file system.
      const { modelsDir, models } = CheckModelsInput.parse(input);
      return classified(async () => ({
        deviceId: profile.id,
        missing: await missingModels(profile, modelsDir, models),
      }));
    },
  };
}

/**
 * The device's facts for the `devices` table: what describeDevice records with every cell, plus memory, the
 * power-mode table, the clock limits, the models directory (free space, models found) and whether the engine image
 * is already on the device. Never fails: what cannot be read is left empty and named in `problems`.
 */
export async function describeInventory(
  profile: DeviceProfile,
  opts: { modelsDir: string; engineImage: string },
): Promise<DeviceInventory> {
  const problems: string[] = [];
  const attempt = async <T>(what: string, read: () => Promise<T>): Promise<T | null> => {
    try {
      return await read();
    } catch (err) {
      problems.push(`${what}: ${(err as Error).message.split('\n')[0]}`);
      return null;
    }
  };
  const facts = await attempt('device facts', () => createDeviceActivities(profile).describeDevice());
  const table = await attempt('nvpmodel -p --verbose', async () => {
    const { stdout } = await runPrivileged(profile, 'nvpmodel', ['-p', '--verbose'], { timeoutMs: QUICK_MS });
    return parseNvpmodelVerbose(stdout);
  });
  const clocks = await attempt('jetson_clocks --show', async () => {
    const { stdout } = await runPrivileged(profile, 'jetsonClocks', ['--show'], { timeoutMs: QUICK_MS });
    const show = parseJetsonClocksShow(stdout);
    const cpuMax = show.cpus.filter((c) => c.online).reduce((m, c) => Math.max(m, c.max), 0);
    const back = clocksReadBack(show);
    return {
      gpuMaxMhz: back.gpuMaxMhz,
      emcMaxMhz: back.emcMaxMhz,
      cpuMaxMhz: cpuMax > 0 ? Math.round(cpuMax / 1000) : null,
    };
  });
  const image = await runDevice(profile, [profile.commands.docker, 'image', 'inspect', opts.engineImage], {
    timeoutMs: QUICK_MS,
    allowFailure: true,
  }).catch((err: Error) => {
    problems.push(`docker image inspect: ${err.message.split('\n')[0]}`);
    return null;
  });
  let digest: string | null = null;
  if (image?.exitCode === 0) {
    try {
      digest = imageDigest(parseDockerImageInspect(image.stdout), opts.engineImage);
    } catch (err) {
      problems.push(`docker image inspect: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  const modelsHost = devicePath(profile, opts.modelsDir);
  return {
    deviceId: profile.id,
    simulated: profile.simulated,
    model: facts?.model ?? 'unknown',
    l4tRelease: facts?.l4tRelease ?? null,
    memoryTotalMb: await readMemTotalMb(profile),
    powerModes: table?.modes.map((m) => ({ id: m.id, name: m.name, tpcPgMask: m.tpcPgMask })) ?? [],
    powerMode: facts ? { id: facts.powerModeId, name: facts.powerModeName } : null,
    clockLimits: clocks,
    modelsDir: opts.modelsDir,
    modelsDirFreeBytes: await freeBytes(modelsHost),
    engineImage: opts.engineImage,
    engineImagePresent: image?.exitCode === 0,
    engineImageDigest: digest,
    models: profile.simulated ? null : await listModels(modelsHost),
    modelsMissing: simulatedMissing(profile),
    problems,
  };
}
