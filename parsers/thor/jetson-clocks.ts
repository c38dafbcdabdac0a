/**
 * Parser for `sudo jetson_clocks --show`, and the "are clocks locked?" decision thorbench's ensure-clocks step and
 * every recorded cell rely on.
 *
 * Format: fixtures/thor/jetson_clocks-show.maxn-locked.txt (real Thor, R38.2). Units are the tool's own: CPU values in
 * kHz, GPU, EMC and engine values in Hz.
 *
 * Deterministic: no Node.js APIs.
 */
import type { ClocksReadBack } from '../../schema/outcome.js';
import { ParseError, splitLines, splitList } from '../parse-error.js';

export interface CpuClock {
  cpu: number;
  online: boolean;
  governor: string | null;
  /** kHz */
  min: number;
  /** kHz */
  max: number;
  /** kHz */
  cur: number;
  /** cpuidle states by name; 0 means the state is disabled (jetson_clocks disables them). */
  idleStates: Record<string, number>;
}

/** A devfreq domain (Thor: gpu-gpc-0, gpu-nvd-0; Orin and older: GPU). Values in Hz. */
export interface FreqDomain {
  name: string;
  min: number;
  max: number;
  cur: number;
}

/** External memory controller. Values in Hz; MinFreq does not move when locked, FreqOverride=1 does. */
export interface EmcClock {
  min: number;
  max: number;
  cur: number;
  freqOverride: number | null;
}

/** An accelerator engine line such as `PVA0_VPS0: Online=0 MinFreq=0 ...`. Values in Hz. */
export interface EngineClock {
  name: string;
  online: boolean | null;
  min: number;
  max: number;
  cur: number;
}

export interface FanState {
  /** The fan controller, e.g. nvfancontrol. */
  control: string | null;
  /** Every `key=value` the FAN lines print, e.g. { hwmon1_pwm1: 73, hwmon1_pwm1_enable: 1 }. */
  settings: Record<string, number>;
}

export interface JetsonClocksShow {
  socFamily: string | null;
  machine: string | null;
  onlineCpus: number[];
  offlineCpus: number[];
  cpus: CpuClock[];
  gpu: FreqDomain[];
  emc: EmcClock | null;
  engines: EngineClock[];
  fan: FanState | null;
  powerModeName: string | null;
  /** jtop's heuristic (see {@link isClocksLocked}). */
  locked: boolean;
}

const SOURCE = 'jetson_clocks --show output';

/** Parses a CPU list as the kernel prints it: "0-13", "0-3,6-7", "0,2" or empty. */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of splitList(text)) {
    const range = /^(\d+)-(\d+)$/.exec(part);
    if (range) {
      for (let i = Number(range[1]); i <= Number(range[2]); i++) out.push(i);
    } else if (/^\d+$/.test(part)) {
      out.push(Number(part));
    } else {
      throw new ParseError(SOURCE, `"${part}" is not a CPU number or range`, text);
    }
  }
  return out;
}

/** Reads `Key=value` pairs (values without spaces). */
function keyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/([A-Za-z_][\w]*)=(\S*)/g)) out[m[1]!] = m[2]!;
  return out;
}

function freq(kv: Record<string, string>, key: string, line: string): number {
  const v = kv[key];
  if (v === undefined || !/^\d+$/.test(v)) throw ParseError.of(SOURCE, `expected ${key}=<integer> in line`, line);
  return Number(v);
}

/**
 * jtop's `jetson_clocks_alive` heuristic: every online CPU has MinFreq == MaxFreq, the GPU's GPC domain has
 * MinFreq == MaxFreq, and the EMC runs at its maximum with FreqOverride=1. Output without CPU, GPU or EMC lines is not
 * evidence of a lock, so it counts as unlocked.
 */
export function isClocksLocked(show: Pick<JetsonClocksShow, 'cpus' | 'gpu' | 'emc'>): boolean {
  const online = show.cpus.filter((c) => c.online);
  const cpusLocked = online.length > 0 && online.every((c) => c.min === c.max);
  const gpc = show.gpu.filter((d) => /gpc/i.test(d.name) || d.name === 'GPU');
  const gpuDomains = gpc.length > 0 ? gpc : show.gpu;
  const gpuLocked = gpuDomains.length > 0 && gpuDomains.every((d) => d.min === d.max);
  const emcLocked = show.emc !== null && show.emc.cur === show.emc.max && show.emc.freqOverride === 1;
  return cpusLocked && gpuLocked && emcLocked;
}

export function parseJetsonClocksShow(text: string): JetsonClocksShow {
  let socFamily: string | null = null;
  let machine: string | null = null;
  let onlineCpus: number[] = [];
  let offlineCpus: number[] = [];
  let sawCpuList = false;
  const cpus: CpuClock[] = [];
  const gpu: FreqDomain[] = [];
  let emc: EmcClock | null = null;
  const engines: EngineClock[] = [];
  let fan: FanState | null = null;
  let powerModeName: string | null = null;

  for (const raw of splitLines(text)) {
    const line = raw.trim();
    if (line === '') continue;
    let m: RegExpExecArray | null;
    if ((m = /^SOC family:\s*(\S+)\s*(?:Machine:\s*(.*))?$/.exec(line))) {
      socFamily = m[1]!;
      machine = m[2]?.trim() || null;
    } else if ((m = /^Online CPUs:\s*([\d,\- ]*?)\s*,?\s*Offline CPUs:\s*([\d,\- ]*)$/.exec(line))) {
      onlineCpus = parseCpuList(m[1]!);
      offlineCpus = parseCpuList(m[2]!);
      sawCpuList = true;
    } else if ((m = /^cpu(\d+):\s*(.*)$/.exec(line))) {
      const [settings, idle = ''] = m[2]!.split(/IdleStates:/);
      const kv = keyValues(settings!);
      const idleStates: Record<string, number> = {};
      for (const [k, v] of Object.entries(keyValues(idle))) idleStates[k] = Number(v);
      cpus.push({
        cpu: Number(m[1]),
        online: kv.Online === undefined ? true : kv.Online === '1',
        governor: kv.Governor ?? null,
        min: freq(kv, 'MinFreq', line),
        max: freq(kv, 'MaxFreq', line),
        cur: freq(kv, 'CurrentFreq', line),
        idleStates,
      });
    } else if ((m = /^(gpu-\S+|GPU)\s+(.*)$/.exec(line))) {
      const kv = keyValues(m[2]!);
      gpu.push({
        name: m[1]!,
        min: freq(kv, 'MinFreq', line),
        max: freq(kv, 'MaxFreq', line),
        cur: freq(kv, 'CurrentFreq', line),
      });
    } else if ((m = /^EMC\s+(.*)$/.exec(line))) {
      const kv = keyValues(m[1]!);
      emc = {
        min: freq(kv, 'MinFreq', line),
        max: freq(kv, 'MaxFreq', line),
        cur: freq(kv, 'CurrentFreq', line),
        freqOverride: kv.FreqOverride === undefined ? null : Number(kv.FreqOverride),
      };
    } else if ((m = /^FAN\s+Dynamic Speed Control=(\S+)\s*(.*)$/i.exec(line))) {
      fan ??= { control: m[1]!, settings: {} };
      for (const [k, v] of Object.entries(keyValues(m[2]!))) if (/^-?\d+$/.test(v)) fan.settings[k] = Number(v);
    } else if ((m = /^NV Power Mode:\s*(\w+)/.exec(line))) {
      powerModeName = m[1]!;
    } else if ((m = /^([A-Za-z][\w]*):\s+(.*MinFreq=.*)$/.exec(line))) {
      const kv = keyValues(m[2]!);
      engines.push({
        name: m[1]!,
        online: kv.Online === undefined ? null : kv.Online === '1',
        min: freq(kv, 'MinFreq', line),
        max: freq(kv, 'MaxFreq', line),
        cur: freq(kv, 'CurrentFreq', line),
      });
    }
  }

  if (socFamily === null && cpus.length === 0) {
    throw ParseError.of(
      SOURCE,
      'no "SOC family:" or "cpuN:" lines; jetson_clocks --show must run as root (sudo -n, see deploy/sudoers.d/thorbench)',
      text,
    );
  }
  if (sawCpuList) {
    const online = new Set(onlineCpus);
    for (const cpu of cpus) cpu.online = online.has(cpu.cpu);
  } else {
    onlineCpus = cpus.filter((c) => c.online).map((c) => c.cpu);
  }
  const parsed = { socFamily, machine, onlineCpus, offlineCpus, cpus, gpu, emc, engines, fan, powerModeName };
  return { ...parsed, locked: isClocksLocked(parsed) };
}

/** MHz from the tool's units: CPU values are kHz, GPU and EMC values Hz. Whole MHz, as tegrastats prints them. */
const mhz = (value: number, unitsPerMhz: number): number => Math.round(value / unitsPerMhz);

/**
 * The clocks recorded with a cell after its benchmark: the lock state, the GPU's GPC domain and the EMC (current and
 * maximum) and every online CPU's current frequency, in MHz.
 */
export function clocksReadBack(show: JetsonClocksShow): ClocksReadBack {
  const gpc = show.gpu.find((d) => /gpc/i.test(d.name) || d.name === 'GPU') ?? show.gpu[0] ?? null;
  return {
    locked: show.locked,
    gpuMhz: gpc ? mhz(gpc.cur, 1e6) : null,
    gpuMaxMhz: gpc ? mhz(gpc.max, 1e6) : null,
    emcMhz: show.emc ? mhz(show.emc.cur, 1e6) : null,
    emcMaxMhz: show.emc ? mhz(show.emc.max, 1e6) : null,
    cpuMhz: show.cpus.filter((c) => c.online).map((c) => mhz(c.cur, 1e3)),
  };
}
