/**
 * The nvpmodel table and clock limits of a Jetson AGX Thor developer kit (T5000, L4T R38), as the simulator
 * reproduces them. Sources: public Thor reports summarised in docs/thor.md and the real `jetson_clocks --show`
 * capture in fixtures/thor/. MAXN and 120W are confirmed; the 90W/70W GPU and CPU limits are not published
 * in those sources and are plausible values, marked below, so only their reboot behaviour (TPC_PG_MASK) is
 * claimed to be real.
 */

export interface ThorPowerMode {
  id: number;
  name: string;
  /** TPC power-gating mask: switching between modes with different masks needs a reboot. */
  tpcPgMask: number;
  /** CPU cores online (cpu0..cpu{n-1}). */
  onlineCpus: number;
  /** CPU scaling_max_freq, kHz. */
  cpuMaxKHz: number;
  /** gpu-gpc-0 max_freq, Hz. */
  gpuGpcMaxHz: number;
  /** gpu-nvd-0 max_freq, Hz. */
  gpuNvdMaxHz: number;
  /** EMC max rate, Hz. */
  emcMaxHz: number;
  /** Budget the mode is named after (W); scales the simulated power draw. */
  budgetW: number;
}

export const THOR_POWER_MODES: readonly ThorPowerMode[] = [
  {
    id: 0,
    name: 'MAXN',
    tpcPgMask: 64,
    onlineCpus: 14,
    cpuMaxKHz: 2601000,
    gpuGpcMaxHz: 1575000000,
    gpuNvdMaxHz: 1692000000,
    emcMaxHz: 4266000000,
    budgetW: 130,
  },
  {
    id: 1,
    name: '120W',
    tpcPgMask: 64,
    onlineCpus: 14,
    cpuMaxKHz: 2601000,
    gpuGpcMaxHz: 1386000000,
    gpuNvdMaxHz: 1692000000,
    emcMaxHz: 4266000000,
    budgetW: 120,
  },
  // 90W / 70W: mask and core count as public Thor reports give them; clock limits unconfirmed (plausible values).
  {
    id: 2,
    name: '90W',
    tpcPgMask: 15873,
    onlineCpus: 12,
    cpuMaxKHz: 2601000,
    gpuGpcMaxHz: 1188000000,
    gpuNvdMaxHz: 1497600000,
    emcMaxHz: 4266000000,
    budgetW: 90,
  },
  {
    id: 3,
    name: '70W',
    tpcPgMask: 15873,
    onlineCpus: 12,
    cpuMaxKHz: 1998000,
    gpuGpcMaxHz: 1036800000,
    gpuNvdMaxHz: 1305600000,
    emcMaxHz: 3200000000,
    budgetW: 70,
  },
];

/** Mode nvpmodel.conf declares as PM_CONFIG DEFAULT: 120W is the factory default on Thor. */
export const DEFAULT_POWER_MODE_ID = 1;

/** Clock floors under DVFS (not locked); the idle readings tegrastats shows on a real Thor (972 MHz CPU, 314 MHz GPU). */
export const CPU_MIN_KHZ = 972000;
export const GPU_MIN_HZ = 314000000;
export const EMC_MIN_HZ = 665600000;
/** EMC rate at idle under DVFS (tegrastats `EMC_FREQ 0%@2750`). */
export const EMC_IDLE_HZ = 2750000000;

export function powerModeById(id: number): ThorPowerMode | undefined {
  return THOR_POWER_MODES.find((m) => m.id === id);
}

/** The mode, or an Error naming the valid ids (for state files edited by hand). */
export function requirePowerMode(id: number): ThorPowerMode {
  const mode = powerModeById(id);
  if (!mode)
    throw new Error(
      `unknown Thor power mode id ${id}; valid ids: ${THOR_POWER_MODES.map((m) => `${m.id} (${m.name})`).join(', ')}`,
    );
  return mode;
}

/** True when going from one mode to the other needs a reboot (different TPC power gating). */
export function needsReboot(fromId: number, toId: number): boolean {
  return requirePowerMode(fromId).tpcPgMask !== requirePowerMode(toId).tpcPgMask;
}
