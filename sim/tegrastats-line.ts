/**
 * One `tegrastats` line of the simulated Thor, in the real Thor format (docs/thor.md, "tegrastats"; an R38.4 sample):
 *
 *   04-21-2026 15:50:52 RAM 105265/125772MB (lfb 34x4MB) CPU [0%@972,...] EMC_FREQ 0%@2750 GR3D_FREQ @[314,314,314]
 *   NVENC0_FREQ @314 ... VIN_SYS_5V0 5635mW/5635mW VIN 19780mW/19780mW
 *
 * Power is a model, not a measurement: idle matches the real idle sample (VIN ≈ 19.8 W, rails ≈ 13.5 W), it
 * rises with the engines' in-flight requests, the power mode's budget and locked clocks. Pure: the caller passes
 * the noise source and the running averages.
 */
import type { ThorClocks } from './thor-clocks.js';
import type { ThorPowerMode } from './thor-power-modes.js';

export const THOR_RAM_TOTAL_MB = 125772;
/** RAM in use with no engine running (OS, desktop, docker). */
export const IDLE_RAM_MB = 7900;

export interface RailSample {
  VDD_GPU: number;
  VDD_CPU_SOC_MSS: number;
  VIN_SYS_5V0: number;
  VIN: number;
}

export const RAIL_NAMES: readonly (keyof RailSample)[] = ['VDD_GPU', 'VDD_CPU_SOC_MSS', 'VIN_SYS_5V0', 'VIN'];

/** GPU load (0..1) from requests in flight: a single stream already keeps the GPU busy most of the time. */
export function gpuLoad(inFlight: number): number {
  return inFlight <= 0 ? 0 : Math.min(1, 0.6 + 0.05 * inFlight);
}

/** Instantaneous rail power in mW. `noise` returns multiplicative noise around 1. */
export function railPower(mode: ThorPowerMode, locked: boolean, inFlight: number, noise: () => number): RailSample {
  const load = gpuLoad(inFlight);
  const budget = mode.budgetW / 130;
  const gpu = ((locked ? 4200 : 1962) + load * 52000 * budget) * noise();
  const cpu = ((locked ? 8900 : 5887) + load * 9500 * budget) * noise();
  const sys5v = (5635 + load * 1500) * noise();
  // VIN is the whole board (carrier, fan, NVMe...) measured before the module rails: not their sum.
  const vin = (gpu + cpu + sys5v) * 1.3 + 2251;
  return {
    VDD_GPU: Math.round(gpu),
    VDD_CPU_SOC_MSS: Math.round(cpu),
    VIN_SYS_5V0: Math.round(sys5v),
    VIN: Math.round(vin),
  };
}

export interface TegrastatsInputs {
  now: Date;
  /** Rail format (sim/sim-state.ts TegrastatsFormat); default two values per rail, with VIN. */
  format?: { railValues: 2 | 3; vin: boolean };
  /** Running maxima since tegrastats started: the third value of the three-value format. */
  peak?: RailSample;
  clocks: ThorClocks;
  inFlight: number;
  ramUsedMb: number;
  power: RailSample;
  /** Running averages since tegrastats started. */
  average: RailSample;
  /** Source of small random variations (utilisation, temperatures), in [0, 1). */
  random: () => number;
}

function two(n: number): string {
  return String(n).padStart(2, '0');
}

/** Leading timestamp as tegrastats prints it: MM-DD-YYYY HH:MM:SS (local time). */
export function tegrastatsTimestamp(d: Date): string {
  return `${two(d.getMonth() + 1)}-${two(d.getDate())}-${d.getFullYear()} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

export function renderTegrastatsLine(x: TegrastatsInputs): string {
  const load = gpuLoad(x.inFlight);
  const c = x.clocks;
  const cpuEntries: string[] = [];
  for (let i = 0; i < c.totalCpus; i++) {
    const cpu = c.cpus[i];
    if (!cpu) cpuEntries.push('off');
    else
      cpuEntries.push(
        `${Math.round((load > 0 ? 18 : 0) + x.random() * (load > 0 ? 25 : 4))}%@${Math.round(cpu.cur / 1000)}`,
      );
  }
  const gpcMhz = Math.round(c.gpuGpc.cur / 1e6);
  const emcUtil = Math.round(load * (55 + x.random() * 20));
  const temp = (base: number): string =>
    `${(base + load * 24 * (c.mode.budgetW / 130) + x.random() * 0.6).toFixed(3)}C`;
  const lfb = 20 + Math.floor(x.random() * 30);
  const format = x.format ?? { railValues: 2, vin: true };
  const third = (r: keyof RailSample): string => (format.railValues === 3 ? `/${(x.peak ?? x.power)[r]}mW` : '');
  const rails = RAIL_NAMES.filter((r) => format.vin || r !== 'VIN')
    .map((r) => `${r} ${x.power[r]}mW/${x.average[r]}mW${third(r)}`)
    .join(' ');
  return [
    tegrastatsTimestamp(x.now),
    `RAM ${x.ramUsedMb}/${THOR_RAM_TOTAL_MB}MB (lfb ${lfb}x4MB)`,
    `CPU [${cpuEntries.join(',')}]`,
    `EMC_FREQ ${emcUtil}%@${Math.round(c.emc.cur / 1e6)}`,
    `GR3D_FREQ @[${gpcMhz},${gpcMhz},${gpcMhz}]`,
    'NVENC0_FREQ @314 NVENC1_FREQ @314 NVDEC0_FREQ @314 NVDEC1_FREQ @314 NVJPG0_FREQ @314 VIC off OFA_FREQ @315 PVA0_FREQ off APE 300',
    `cpu@${temp(37.3)} tj@${temp(38.8)} soc012@${temp(37.4)} gpu@${temp(38.8)} soc345@${temp(37.4)}`,
    rails,
  ].join(' ');
}
