/**
 * The files under <dir>/root that the activities read as device facts, kept in step with the simulator state:
 * /etc/nv_tegra_release (the real R38.2 text), /proc/device-tree/{model,compatible} (NUL-terminated like the real
 * ones), /proc/sys/kernel/random/boot_id (new per simulated boot), /var/lib/nvpmodel/status, /etc/nvpmodel.conf,
 * and the cpufreq / devfreq sysfs nodes a non-root reader uses to see whether clocks are locked.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomicSync } from '../store/atomic-file.js';
import { THOR_FIXTURES_DIR, type SimLayout } from './layout.js';
import type { SimState } from './sim-state.js';
import { THOR_RAM_TOTAL_MB } from './tegrastats-line.js';
import { THOR_MACHINE, thorClocks } from './thor-clocks.js';
import { DEFAULT_POWER_MODE_ID, THOR_POWER_MODES, requirePowerMode } from './thor-power-modes.js';

function put(root: string, absolute: string, content: string): void {
  const file = path.join(root, absolute);
  try {
    if (fs.readFileSync(file, 'utf8') === content) return;
  } catch {
    // Missing: write it.
  }
  writeFileAtomicSync(file, content);
}

/** nvpmodel.conf in the real file's block syntax (docs/thor.md, "nvpmodel"), generated from the mode table. */
export function renderNvpmodelConf(): string {
  const out: string[] = ['# nvpmodel configuration of the simulated Jetson AGX Thor (thorbench simulator)', ''];
  for (const m of THOR_POWER_MODES) {
    out.push(`< POWER_MODEL ID=${m.id} NAME=${m.name} >`);
    for (let core = 0; core < 14; core++) out.push(`CPU_ONLINE CORE_${core} ${core < m.onlineCpus ? 1 : 0}`);
    out.push(`TPC_POWER_GATING TPC_PG_MASK ${m.tpcPgMask}`);
    out.push(`CPU_A78_0 MAX_FREQ ${m.cpuMaxKHz}`);
    out.push(`GPU MAX_FREQ ${m.gpuGpcMaxHz}`);
    out.push(`EMC MAX_FREQ ${m.emcMaxHz}`);
    out.push('');
  }
  out.push(`< PM_CONFIG DEFAULT=${DEFAULT_POWER_MODE_ID} >`);
  return `${out.join('\n')}\n`;
}

let tegraRelease: string | undefined;

/** Writes every device file that differs from what the state implies. `busy` = an engine has requests in flight. */
export function renderDeviceFiles(layout: SimLayout, state: SimState, busy = false): void {
  const root = layout.rootDir;
  tegraRelease ??= fs.readFileSync(path.join(THOR_FIXTURES_DIR, 'nv_tegra_release.txt'), 'utf8');
  put(root, '/etc/nv_tegra_release', tegraRelease);
  put(root, '/etc/nvpmodel.conf', renderNvpmodelConf());
  put(root, '/proc/device-tree/model', `${THOR_MACHINE}\0`);
  put(root, '/proc/device-tree/compatible', 'nvidia,p3834-0008+p4071-0000\0nvidia,p3834-0008\0nvidia,tegra264\0');
  put(root, '/proc/sys/kernel/random/boot_id', `${state.bootId}\n`);
  put(root, '/proc/meminfo', `MemTotal:       ${THOR_RAM_TOTAL_MB * 1024} kB\n`);
  put(root, '/var/lib/nvpmodel/status', `pmode:${String(state.powerModeId).padStart(4, '0')}\n`);

  const clocks = thorClocks(requirePowerMode(state.powerModeId), state.clocks.locked, busy, state.clocks.fanMax);
  for (let i = 0; i < clocks.totalCpus; i++) {
    const cpu = clocks.cpus[i];
    put(root, `/sys/devices/system/cpu/cpu${i}/online`, cpu ? '1\n' : '0\n');
    if (!cpu) continue;
    put(root, `/sys/devices/system/cpu/cpu${i}/cpufreq/scaling_min_freq`, `${cpu.min}\n`);
    put(root, `/sys/devices/system/cpu/cpu${i}/cpufreq/scaling_max_freq`, `${cpu.max}\n`);
    put(root, `/sys/devices/system/cpu/cpu${i}/cpufreq/scaling_cur_freq`, `${cpu.cur}\n`);
    for (const s of [0, 1])
      put(root, `/sys/devices/system/cpu/cpu${i}/cpuidle/state${s}/disable`, cpu.idleEnabled ? '0\n' : '1\n');
  }
  for (const [name, r] of [
    ['gpu-gpc-0', clocks.gpuGpc],
    ['gpu-nvd-0', clocks.gpuNvd],
  ] as const) {
    put(root, `/sys/class/devfreq/${name}/min_freq`, `${r.min}\n`);
    put(root, `/sys/class/devfreq/${name}/max_freq`, `${r.max}\n`);
    put(root, `/sys/class/devfreq/${name}/cur_freq`, `${r.cur}\n`);
  }
}
