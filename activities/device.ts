/**
 * Device activities: facts, caches, power mode, clocks, reboot. Each "ensure" step reads the current state first
 * and does nothing when it already holds, so a retried or resumed step is harmless.
 *
 * Order matters on a Jetson: `nvpmodel -m` rewrites the CPU/GPU limits and so undoes `jetson_clocks`; the cell
 * pipeline therefore always ensures the power mode before the clocks.
 */
import { access, mkdir, readFile, rm } from 'node:fs/promises';
import {
  clocksReadBack,
  detectRebootPrompt,
  parseJetsonClocksShow,
  parseNvpmodelQuery,
  parseNvpmodelVerbose,
  parseNvTegraRelease,
} from '../parsers/thor.js';
import type { Clocks, PowerModeSpec } from '../schema/experiment.js';
import { PowerModeSpec as PowerModeSpecSchema, Clocks as ClocksSchema } from '../schema/experiment.js';
import type { DeviceFacts, DeviceReadBack } from '../schema/outcome.js';
import { type DeviceProfile, devicePath } from './device-profile.js';
import { clocksStoreFile, runDevice, runPrivileged } from './exec.js';
import { classified, nonRetryable } from './failures.js';

const QUICK_MS = 30_000;

export interface PowerModeState {
  name: string;
  id: number;
}

export interface EnsurePowerModeResult {
  /** "already": nothing to do; "switched": changed live; "reboot-required": the switch needs a reboot first. */
  outcome: 'already' | 'switched' | 'reboot-required';
  from: PowerModeState;
  to: PowerModeState;
  bootId: string;
}

export interface EnsureClocksResult {
  outcome: 'already' | 'locked' | 'restored';
  locked: boolean;
}

async function readText(profile: DeviceProfile, file: string): Promise<string | null> {
  try {
    return await readFile(devicePath(profile, file), 'utf8');
  } catch {
    return null;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

export function createDeviceActivities(profile: DeviceProfile) {
  async function queryPowerMode(): Promise<PowerModeState> {
    const { stdout } = await runPrivileged(profile, 'nvpmodel', ['-q'], { timeoutMs: QUICK_MS });
    return parseNvpmodelQuery(stdout);
  }

  async function powerModeTable() {
    const { stdout } = await runPrivileged(profile, 'nvpmodel', ['-p', '--verbose'], { timeoutMs: QUICK_MS });
    return parseNvpmodelVerbose(stdout);
  }

  async function clocksLocked(): Promise<boolean> {
    const { stdout } = await runPrivileged(profile, 'jetsonClocks', ['--show'], { timeoutMs: QUICK_MS });
    return parseJetsonClocksShow(stdout).locked;
  }

  async function readBootId(): Promise<string> {
    const text = await readText(profile, '/proc/sys/kernel/random/boot_id');
    if (text === null)
      throw nonRetryable(
        'CommandFailed',
        `cannot read ${devicePath(profile, '/proc/sys/kernel/random/boot_id')}: is this a Linux device?`,
      );
    return text.trim();
  }

  return {
    /** The facts recorded with every cell: which device, which L4T release, which boot, which mode, which clocks. */
    async describeDevice(): Promise<DeviceFacts> {
      return classified(async () => {
        const releaseText = await readText(profile, '/etc/nv_tegra_release');
        const release = releaseText === null ? null : parseNvTegraRelease(releaseText);
        // The device-tree model is NUL-terminated.
        const model = (await readText(profile, '/proc/device-tree/model'))?.replace(/\0/g, '').trim() ?? 'unknown';
        const mode = await queryPowerMode();
        return {
          deviceId: profile.id,
          simulated: profile.simulated,
          model,
          l4tRelease: release === null ? null : `${release.release}.${release.revision}`,
          bootId: await readBootId(),
          powerModeName: mode.name,
          powerModeId: mode.id,
          clocksLocked: await clocksLocked(),
        };
      });
    },

    readBootId,

    /**
     * What the device says right after a benchmark: the power mode and the clocks (with their frequencies), so a
     * record can show that the cell ran as asked (schema/verdict.ts). Never fails: what cannot be read is null, with
     * the reason in `problems`, and the verdict says so.
     */
    async readBackDevice(): Promise<DeviceReadBack> {
      const problems: string[] = [];
      const attempt = async <T>(what: string, read: () => Promise<T>): Promise<T | null> => {
        try {
          return await read();
        } catch (err) {
          problems.push(`${what}: ${(err as Error).message}`);
          return null;
        }
      };
      const [powerMode, clocks] = await Promise.all([
        attempt('nvpmodel -q', queryPowerMode),
        attempt('jetson_clocks --show', async () => {
          const { stdout } = await runPrivileged(profile, 'jetsonClocks', ['--show'], { timeoutMs: QUICK_MS });
          return clocksReadBack(parseJetsonClocksShow(stdout));
        }),
      ]);
      return { powerMode, clocks, problems };
    },

    /** `sync` then drop the page cache: on Thor, memory a stopped vLLM held is not returned otherwise (the guide). */
    async flushCaches(): Promise<{ flushed: true }> {
      return classified(async () => {
        await runDevice(profile, [profile.commands.sync], { timeoutMs: 120_000 });
        await runPrivileged(profile, 'sysctl', ['-w', 'vm.drop_caches=3'], { timeoutMs: QUICK_MS });
        return { flushed: true };
      });
    },

    /**
     * Puts the device in the requested power mode, resolving a name against the device's own table. A switch
     * between modes with different TPC power-gating masks needs a reboot: that is reported, not performed, so the
     * workflow can record the boot id first and reboot through its own step.
     */
    async ensurePowerMode(input: { power: PowerModeSpec }): Promise<EnsurePowerModeResult> {
      const power = PowerModeSpecSchema.parse(input.power);
      return classified(async () => {
        const table = await powerModeTable();
        const target = table.modes.find((m) =>
          power.id !== undefined ? m.id === power.id : m.name.toLowerCase() === power.mode!.toLowerCase(),
        );
        if (!target) {
          const known = table.modes.map((m) => `${m.name} (${m.id})`).join(', ');
          throw nonRetryable(
            'PowerModeUnavailable',
            `power mode ${power.mode ?? power.id} does not exist on this device; it has: ${known}`,
          );
        }
        const from = await queryPowerMode();
        const to = { name: target.name, id: target.id };
        const bootId = await readBootId();
        if (from.id === target.id) return { outcome: 'already', from, to, bootId };
        const current = table.modes.find((m) => m.id === from.id);
        if (
          current &&
          current.tpcPgMask !== null &&
          target.tpcPgMask !== null &&
          current.tpcPgMask !== target.tpcPgMask
        ) {
          return { outcome: 'reboot-required', from, to, bootId };
        }
        // Answer a surprise reboot prompt with "no": the mode stays, and we report it instead of rebooting.
        const res = await runPrivileged(profile, 'nvpmodel', ['-m', String(target.id)], {
          timeoutMs: 60_000,
          input: 'n\n',
          allowFailure: true,
        });
        const prompt = detectRebootPrompt(`${res.stdout}\n${res.stderr}`);
        if (prompt.rebootRequired) return { outcome: 'reboot-required', from, to, bootId };
        const now = await queryPowerMode();
        if (now.id !== target.id) {
          throw nonRetryable(
            'PowerModeUnavailable',
            `nvpmodel -m ${target.id} exited ${res.exitCode} and the device is still in ${now.name} (${now.id}): ${(res.stderr || res.stdout).trim()}`,
          );
        }
        return { outcome: 'switched', from, to: now, bootId };
      });
    },

    /**
     * Sets the power mode across a power-gating boundary: answers nvpmodel's reboot prompt with YES, which reboots
     * the device. The workflow calls this only after recording the boot id, then waits for a new one.
     */
    async switchPowerModeWithReboot(input: {
      modeId: number;
      bootIdBefore: string;
    }): Promise<{ outcome: 'rebooted' | 'already' | 'reboot-started' }> {
      return classified(async () => {
        // Idempotent: a retry after the reboot killed the previous attempt's worker finds the new boot or mode.
        if ((await readBootId()) !== input.bootIdBefore) return { outcome: 'rebooted' };
        if ((await queryPowerMode()).id === input.modeId) return { outcome: 'already' };
        await runPrivileged(profile, 'nvpmodel', ['-m', String(input.modeId)], {
          timeoutMs: 120_000,
          input: 'YES\n',
          allowFailure: true,
        });
        return { outcome: 'reboot-started' };
      });
    },

    /** After a reboot: the boot id and mode the device now reports (the workflow polls this until both changed). */
    async probeAfterReboot(): Promise<{ bootId: string; powerMode: PowerModeState }> {
      return classified(async () => ({ bootId: await readBootId(), powerMode: await queryPowerMode() }));
    },

    /**
     * Locks clocks with jetson_clocks (saving the DVFS settings first, so "default" can restore them), or restores
     * DVFS. jetson_clocks does not survive a reboot or an nvpmodel switch, so this runs for every cell.
     */
    async ensureClocks(input: { clocks: Clocks }): Promise<EnsureClocksResult> {
      const clocks = ClocksSchema.parse(input.clocks);
      return classified(async () => {
        const locked = await clocksLocked();
        const store = clocksStoreFile(profile);
        if (clocks === 'locked') {
          if (locked) return { outcome: 'already', locked: true };
          // A fresh store each time: an old one may hold another power mode's limits. The file must not exist,
          // or jetson_clocks --store stops at an overwrite prompt.
          await mkdir(profile.stateDir, { recursive: true });
          await rm(store, { force: true });
          await runPrivileged(profile, 'jetsonClocks', ['--store', store], { timeoutMs: QUICK_MS });
          await runPrivileged(profile, 'jetsonClocks', [], { timeoutMs: 120_000 });
        } else {
          if (!locked) return { outcome: 'already', locked: false };
          if (await exists(store)) {
            await runPrivileged(profile, 'jetsonClocks', ['--restore', store], { timeoutMs: 120_000 });
          } else {
            // Locked by someone else (no store of ours): re-applying the current mode resets the limits to DVFS.
            const mode = await queryPowerMode();
            await runPrivileged(profile, 'nvpmodel', ['-m', String(mode.id)], { timeoutMs: 60_000, input: 'n\n' });
          }
        }
        const now = await clocksLocked();
        if (now !== (clocks === 'locked')) {
          throw nonRetryable(
            'CommandFailed',
            `jetson_clocks did not ${clocks === 'locked' ? 'lock' : 'restore'} the clocks (jetson_clocks --show still says ${now ? 'locked' : 'unlocked'})`,
          );
        }
        return { outcome: clocks === 'locked' ? 'locked' : 'restored', locked: now };
      });
    },
  };
}

export type DeviceActivities = ReturnType<typeof createDeviceActivities>;
