/**
 * Clock settings of the simulated Thor and their text forms: `jetson_clocks --show` (byte for byte the format of
 * the real capture fixtures/thor/jetson_clocks-show.maxn-locked.txt) and the `--store` file (path:value lines
 * like the real script writes). Pure functions of (power mode, locked, busy, fan).
 */
import { CPU_MIN_KHZ, EMC_IDLE_HZ, EMC_MIN_HZ, GPU_MIN_HZ, type ThorPowerMode } from './thor-power-modes.js';

export interface ClockRange {
  min: number;
  max: number;
  cur: number;
}

export interface ThorClocks {
  mode: ThorPowerMode;
  locked: boolean;
  /** Online CPUs, cpu0..cpu{n-1}. */
  cpus: (ClockRange & { idleEnabled: boolean })[];
  totalCpus: number;
  gpuGpc: ClockRange;
  gpuNvd: ClockRange;
  emc: ClockRange & { override: boolean };
  fanPwm: number;
}

export const THOR_TOTAL_CPUS = 14;
export const THOR_MACHINE = 'NVIDIA Jetson AGX Thor Developer Kit';

/**
 * Clocks for a mode. Locked = jetson_clocks: every min raised to the mode's max, idle states disabled, EMC
 * override. Otherwise DVFS: floors at the idle values a real Thor shows, current at max while busy.
 */
export function thorClocks(mode: ThorPowerMode, locked: boolean, busy: boolean, fanMax: boolean): ThorClocks {
  const range = (floor: number, max: number): ClockRange =>
    locked ? { min: max, max, cur: max } : { min: floor, max, cur: busy ? max : floor };
  const cpu = range(CPU_MIN_KHZ, mode.cpuMaxKHz);
  return {
    mode,
    locked,
    cpus: Array.from({ length: mode.onlineCpus }, () => ({ ...cpu, idleEnabled: !locked })),
    totalCpus: THOR_TOTAL_CPUS,
    gpuGpc: range(GPU_MIN_HZ, mode.gpuGpcMaxHz),
    gpuNvd: range(GPU_MIN_HZ, mode.gpuNvdMaxHz),
    emc: {
      min: EMC_MIN_HZ,
      max: mode.emcMaxHz,
      cur: locked || busy ? mode.emcMaxHz : Math.min(EMC_IDLE_HZ, mode.emcMaxHz),
      override: locked,
    },
    fanPwm: fanMax ? 255 : 73,
  };
}

function cpuList(from: number, to: number): string {
  if (to < from) return '';
  return from === to ? `${from}` : `${from}-${to}`;
}

/** `jetson_clocks --show` output. */
export function renderClocksShow(c: ThorClocks): string {
  const lines = [
    `SOC family:tegra264 Machine:${THOR_MACHINE}`,
    `Online CPUs: ${cpuList(0, c.cpus.length - 1)}, Offline CPUs:${c.cpus.length < c.totalCpus ? ` ${cpuList(c.cpus.length, c.totalCpus - 1)}` : ''}`,
    ...c.cpus.map((cpu, i) => {
      const idle = cpu.idleEnabled ? 1 : 0;
      return `cpu${i}: Governor=schedutil MinFreq=${cpu.min} MaxFreq=${cpu.max} CurrentFreq=${cpu.cur} IdleStates: WFI=${idle} cc7=${idle}`;
    }),
    `gpu-gpc-0 MinFreq=${c.gpuGpc.min} MaxFreq=${c.gpuGpc.max} CurrentFreq=${c.gpuGpc.cur}`,
    `gpu-nvd-0 MinFreq=${c.gpuNvd.min} MaxFreq=${c.gpuNvd.max} CurrentFreq=${c.gpuNvd.cur}`,
    `EMC MinFreq=${c.emc.min} MaxFreq=${c.emc.max} CurrentFreq=${c.emc.cur} FreqOverride=${c.emc.override ? 1 : 0}`,
    'PVA0_VPS0: Online=0 MinFreq=0 MaxFreq=1215000000 CurrentFreq=1215000000',
    'PVA0_AXI: Online=0 MinFreq=0 MaxFreq=909000000 CurrentFreq=909000000',
    `FAN Dynamic Speed Control=nvfancontrol hwmon1_pwm1=${c.fanPwm}`,
    'FAN Dynamic Speed Control=nvfancontrol hwmon1_pwm1_enable=1',
    `NV Power Mode: ${c.mode.name}`,
  ];
  return `${lines.join('\n')}\n`;
}

const EMC_LOCK_PATH = '/sys/kernel/debug/bpmp/debug/clk/emc/mrq_rate_locked';

/** The `--store` file: the sysfs values jetson_clocks would write back on `--restore`. */
export function renderClocksStore(c: ThorClocks): string {
  const lines: string[] = [`# jetson_clocks --store of the simulated Thor (thorbench simulator), ${c.mode.name}`];
  c.cpus.forEach((cpu, i) => {
    lines.push(`/sys/devices/system/cpu/cpu${i}/cpufreq/scaling_min_freq:${cpu.min}`);
    lines.push(`/sys/devices/system/cpu/cpu${i}/cpuidle/state0/disable:${cpu.idleEnabled ? 0 : 1}`);
    lines.push(`/sys/devices/system/cpu/cpu${i}/cpuidle/state1/disable:${cpu.idleEnabled ? 0 : 1}`);
  });
  lines.push(`/sys/class/devfreq/gpu-gpc-0/min_freq:${c.gpuGpc.min}`);
  lines.push(`/sys/class/devfreq/gpu-nvd-0/min_freq:${c.gpuNvd.min}`);
  lines.push('/sys/devices/platform/gpu.0/power/control:auto');
  lines.push(`${EMC_LOCK_PATH}:${c.emc.override ? 1 : 0}`);
  lines.push(`/sys/devices/platform/pwm-fan/hwmon/hwmon1/pwm1:${c.fanPwm}`);
  return `${lines.join('\n')}\n`;
}

/** What `--restore` puts back: whether the stored settings were locked, and the fan. Undefined if not a store file. */
export function parseClocksStore(text: string): { locked: boolean; fanMax: boolean } | undefined {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.lastIndexOf(':');
    if (i > 0) values.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  const lock = values.get(EMC_LOCK_PATH);
  if (lock !== '0' && lock !== '1') return undefined;
  return { locked: lock === '1', fanMax: values.get('/sys/devices/platform/pwm-fan/hwmon/hwmon1/pwm1') === '255' };
}
